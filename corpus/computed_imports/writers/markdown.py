def render(text):
    return f"*{text}*"
