"""Serving the dashboards: the settings Voilà and Jupyter Server load (config/, shipped with the
package), the kernel manager and identity provider they name, and `vggviz dashboard`."""
