# Stdlib only. `encodings` finds each codec by a computed module name.
import codecs

text = "Grüße, Ελλάδα — 日本"
for name in ["latin-1", "cp1252", "utf-16", "shift_jis", "koi8_r"]:
    data = text.encode(name, errors="replace")
    print(name, len(data), data.decode(name)[:6])
print(codecs.encode(b"pyodide", "base64").strip())
print(codecs.encode("pyodide", "rot13"))
print("bücher.example".encode("idna"))
