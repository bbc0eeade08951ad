"""Page layouts (static skeletons the router returns) and the renderers callbacks fill them with.

Skeletons do no I/O so navigation is instant; data arrives through each page's refresh
callback, which runs on first render and on every tick of the refresh interval.
"""
