"""Callbacks: plain functions (context and inputs in, components and figures out) that tests
call directly, plus each module's ``register(app, context)`` wiring them to Dash."""
