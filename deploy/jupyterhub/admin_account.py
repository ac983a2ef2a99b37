"""JupyterHub config snippet: NativeAuthenticator with an admin the operator names.

The operator names the admin (VGGVIZ_HUB_ADMIN) and gives its first password
(VGGVIZ_HUB_ADMIN_PASSWORD); the hub creates that account when it starts, so nobody can sign up
under the admin's name first (NativeAuthenticator authorizes whoever signs up under an admin's
name). Loaded by jupyterhub_config.py (`make hub`) and, on Kubernetes, mounted into the chart's
jupyterhub_config.d (deploy/kubernetes/values.yaml), so both hubs make their admin one way.
"""

import os

from nativeauthenticator import NativeAuthenticator

c = get_config()  # noqa: F821 (JupyterHub's config loader provides it)

ADMIN = os.environ.get("VGGVIZ_HUB_ADMIN", "").strip()
ADMIN_PASSWORD = os.environ.get("VGGVIZ_HUB_ADMIN_PASSWORD", "")
if not ADMIN or not ADMIN_PASSWORD:
    raise SystemExit("admin_account.py: set VGGVIZ_HUB_ADMIN (the admin's user name) and "
                     "VGGVIZ_HUB_ADMIN_PASSWORD (its first password: 8 characters or more, not "
                     "a common one); the hub creates that account when it starts")


class AdminFirstAuthenticator(NativeAuthenticator):
    """NativeAuthenticator with the admin's account made when the hub starts, from the
    operator's password: a stranger cannot sign up under the admin's name first (NativeAuthenticator
    would authorize whoever did). An existing account is left as it is (its password may have
    been changed since)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.user_exists(ADMIN) and self.create_user(ADMIN, ADMIN_PASSWORD) is None:
            raise SystemExit(f"admin_account.py: NativeAuthenticator refused the admin "
                             f"account {ADMIN!r}: a valid name, and a password of "
                             f"{self.minimum_password_length} characters or more that is not "
                             f"a common one (VGGVIZ_HUB_ADMIN_PASSWORD)")


c.JupyterHub.authenticator_class = AdminFirstAuthenticator
c.NativeAuthenticator.open_signup = False  # an admin authorizes each sign-up at /hub/authorize
c.NativeAuthenticator.minimum_password_length = 8
c.NativeAuthenticator.check_common_password = True
c.NativeAuthenticator.allowed_failed_logins = 5
c.Authenticator.allow_all = True  # everyone NativeAuthenticator lets in (authorized sign-ups)
c.Authenticator.admin_users = {ADMIN}
