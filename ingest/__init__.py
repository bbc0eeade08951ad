"""Collectors: MQTT and OPC-UA sources, payload decoders, tag mapping, batching, the
store-and-forward buffer, dead letters and collector metrics — one pipeline
(:mod:`ingest.pipeline`) behind two protocols."""
