def render(text):
    return f"<p>{text}</p>"
