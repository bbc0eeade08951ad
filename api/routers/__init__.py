"""One router per resource; each route is a thin call into a plain function."""
