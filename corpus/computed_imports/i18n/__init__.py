import json
import os

HERE = os.path.dirname(__file__)


def greeting(lang):
    with open(os.path.join(HERE, "locale", lang + ".json"), encoding="utf-8") as f:
        return json.load(f)["greeting"]
