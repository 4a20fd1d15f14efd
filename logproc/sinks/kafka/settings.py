"""The librdkafka producer settings of a `kafka` sink, and their check at config load.

What logproc sets, and why (`producer_settings`):
- `enable.idempotence = true`: the broker drops the copies a producer retry would write,
  and librdkafka keeps order per partition across retries; it implies `acks = all` (set
  too, for the reader): a record is acknowledged once every in-sync replica has it;
- `message.timeout.ms = 0`: no local delivery timeout, so librdkafka retries a retriable
  failure (broker down, leader moving, not enough replicas) forever. A broker outage is
  backpressure: `write` waits, nothing is acknowledged, the lines stay in their files;
- `delivery.report.only.error = true`: only failures come back to Python (one callback
  per failed record); a record that produced no report once `flush` returned 0 was
  delivered. Measured: a success report per record costs the sink thread ~1 µs each;
- `linger.ms = 5`: batches fill while a write is being produced; `flush` at the end of a
  write sends what lingers at once (librdkafka ignores linger.ms while flushing);
- `compression.type`, `client.id` (`logproc-<sink>`), and security from `tls` / `sasl`:
  `security.protocol` SSL, SASL_SSL or SASL_PLAINTEXT; `ssl.ca.location`,
  `ssl.certificate.location`, `ssl.key.location`; `verify = false` turns off both the
  certificate and the host-name check;
- then `librdkafka`, as given: it overrides all of the above (an operator who sets
  `message.timeout.ms` gets records that time out: they are produced again, after the
  others of their write, so their order may change).

`check(settings)` builds a throwaway producer (no brokers, logging off) so librdkafka
itself judges names, values and combinations; it is called when a config with a kafka
sink is loaded (confluent_kafka is imported then, and only then).
"""

from __future__ import annotations

from typing import Any

LINGER_MS = 5


def producer_settings(cfg: Any, name: str) -> dict[str, Any]:
    """The settings of sink `name`'s producer, without callbacks (see the module doc)."""
    out: dict[str, Any] = {
        "bootstrap.servers": ",".join(cfg.brokers),
        "client.id": f"logproc-{name}",
        "enable.idempotence": True,
        "acks": "all",
        "message.timeout.ms": 0,
        "delivery.report.only.error": True,
        "linger.ms": LINGER_MS,
        "compression.type": cfg.compression,
    }
    tls, sasl = cfg.tls, cfg.sasl
    if tls is not None:
        if tls.ca_file is not None:
            out["ssl.ca.location"] = tls.ca_file
        if tls.cert_file is not None:
            out["ssl.certificate.location"] = tls.cert_file
            out["ssl.key.location"] = tls.key_file
        if not tls.verify:
            out["enable.ssl.certificate.verification"] = False
            out["ssl.endpoint.identification.algorithm"] = "none"
    if sasl is not None:
        out["sasl.mechanism"] = sasl.mechanism
        out["sasl.username"] = sasl.username
        out["sasl.password"] = sasl.password
    if tls is not None or sasl is not None:
        out["security.protocol"] = ("SASL_" if sasl is not None else "") + ("SSL" if tls is not None
                                                                            else "PLAINTEXT")
    out.update(cfg.librdkafka)
    return out


def check(settings: dict[str, Any]) -> str | None:
    """What librdkafka says is wrong with `settings` (None: nothing)."""
    from confluent_kafka import KafkaException, Producer

    trial = {k: v for k, v in settings.items() if k != "bootstrap.servers" and not k.startswith("test.")}
    trial["log_level"] = 0  # no "no bootstrap.servers" line on stderr
    try:
        producer = Producer(trial)
    except KafkaException as exc:
        err = exc.args[0]
        return str(err.str() if hasattr(err, "str") else err)
    except (ValueError, TypeError) as exc:
        return str(exc)
    del producer
    return None
