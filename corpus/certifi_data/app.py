# certifi locates its CA bundle through importlib.resources: a data file no import names.
import certifi

with open(certifi.where(), encoding="ascii") as f:
    text = f.read()
print("certificates:", text.count("-----BEGIN CERTIFICATE-----") > 100)
print("bundle ends with:", text.strip().splitlines()[-1])
