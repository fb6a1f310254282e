# App-local modules found by computed names: a writer imported as prefix + name, and locale data
# opened through a path built from __file__.
import importlib

import i18n


def write(kind, text):
    return importlib.import_module("writers." + kind).render(text)


print(write("html", "hello"))
print(i18n.greeting("en"))
