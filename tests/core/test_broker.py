"""The demo's own broker accepts a QoS 1 round trip with paho."""

import threading

import paho.mqtt.client as mqtt

from millwright.core.broker import EmbeddedBroker


def test_embedded_broker_round_trip() -> None:
    broker = EmbeddedBroker()
    broker.start()
    try:
        got = threading.Event()
        received: list[bytes | bytearray] = []
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)

        def on_message(_c: object, _u: object, message: mqtt.MQTTMessage) -> None:
            received.append(message.payload)
            got.set()

        sub.on_message = on_message
        sub.connect(broker.host, broker.port)
        sub.subscribe("t/x", qos=1)
        sub.loop_start()
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        pub.connect(broker.host, broker.port)
        pub.loop_start()
        for _ in range(50):
            pub.publish("t/x", b"42", qos=1).wait_for_publish(2)
            if got.wait(0.1):
                break
        assert received and received[0] == b"42"
        for client in (sub, pub):
            client.loop_stop()
            client.disconnect()
    finally:
        broker.stop()
