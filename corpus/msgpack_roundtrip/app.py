# msgpack's C extension is a wasm side module; it falls back to pure Python if the import fails.
import msgpack

data = {"name": "pyodide", "sizes": [1, 2, 3], "nested": {"ok": True, "pi": 3.5}}
packed = msgpack.packb(data)
print(len(packed), "bytes")
print(msgpack.unpackb(packed) == data)
print(type(msgpack.Packer).__module__)
