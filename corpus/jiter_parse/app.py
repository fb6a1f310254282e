# jiter is a Rust JSON parser compiled to a wasm side module.
import jiter

doc = b'{"a": [1, 2.5, "x"], "b": {"c": null, "d": true}}'
print(jiter.from_json(doc))
print(jiter.from_json(b'[1, 2, 3, {"partial": ', partial_mode=True))
