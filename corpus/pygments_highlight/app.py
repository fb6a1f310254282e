# pygments finds lexers and formatters by computed module names (`__import__(module_name)`).
from pygments import highlight
from pygments.formatters import get_formatter_by_name
from pygments.lexers import get_lexer_by_name

code = "def add(a, b):\n    return a + b\n"
html = highlight(code, get_lexer_by_name("python"), get_formatter_by_name("html"))
print(html.count("<span"), "spans")
print(html.splitlines()[0])
