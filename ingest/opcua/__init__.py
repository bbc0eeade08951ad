"""OPC-UA collector: secure connections, browsing, node mapping, data-change subscriptions
and reconnects, feeding the shared ingest pipeline (``ingest.pipeline``).

Modules: ``config`` (source settings), ``security`` (endpoint selection, trust, password
protection), ``nodes`` (NodeId / browse-path resolution), ``values`` (DataValue → number,
quality, timestamp), ``gaps`` (what a lost subscription cost), ``source`` (one server as a
source), ``runner`` (all sources on a thread, for ``millwright collect``), ``browse``
(``millwright opcua browse``), ``bench`` (``millwright bench opcua``).

Kept import-light: settings import ``ingest.opcua.config`` without loading asyncua.
"""
