"""Millwright: the ground floor (``millwright.core``) and the composition root (``millwright.app``).

``core`` holds what every stage stands on and imports no stage; ``app`` composes the stages
into the ``millwright`` CLI, the worker, the web service and the demo.
"""

__version__ = "0.1.0"
