"""``millwright demo``: the simulated plant end to end on embedded defaults.

``run`` orchestrates; ``plant`` sizes the plant and writes its settings; ``history`` records
its past; ``model`` trains the first model; ``services`` runs the production services as
child processes; ``mes`` and ``receiver`` play the MES and the maintenance team.
"""
