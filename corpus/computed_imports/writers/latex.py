def render(text):
    return "\\paragraph{" + text + "}"
