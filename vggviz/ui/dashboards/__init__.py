"""The dashboards, one module each: every function returns the app's outermost widget."""
