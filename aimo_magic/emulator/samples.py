"""Canned answer texts: the markdown a notebook must be able to render, and worse."""

from __future__ import annotations

CODE_SNIPPETS: dict[str, str] = {
    "python": "def fib(n: int) -> int:\n    a, b = 0, 1\n    for _ in range(n):\n"
    "        a, b = b, a + b\n    return a\n\nprint([fib(i) for i in range(10)])",
    "javascript": "const fib = (n) => {\n  let [a, b] = [0, 1];\n"
    "  for (let i = 0; i < n; i++) [a, b] = [b, a + b];\n  return a;\n};\n"
    "console.log([...Array(10).keys()].map(fib));",
    "typescript": "function fib(n: number): number {\n  let a = 0, b = 1;\n"
    "  for (let i = 0; i < n; i++) [a, b] = [b, a + b];\n  return a;\n}",
    "sql": "SELECT country, COUNT(*) AS users, AVG(age) AS mean_age\nFROM users\n"
    "WHERE created_at >= DATE '2024-01-01'\nGROUP BY country\nORDER BY users DESC\nLIMIT 5;",
    "bash": 'for f in *.csv; do\n  echo "$f: $(wc -l < "$f") lines"\ndone | sort -t: -k2 -n',
    "rust": "fn fib(n: u64) -> u64 {\n    let (mut a, mut b) = (0, 1);\n"
    "    for _ in 0..n {\n        (a, b) = (b, a + b);\n    }\n    a\n}",
    "go": "func fib(n int) int {\n\ta, b := 0, 1\n\tfor i := 0; i < n; i++ {\n"
    "\t\ta, b = b, a+b\n\t}\n\treturn a\n}",
    "java": "static long fib(int n) {\n    long a = 0, b = 1;\n"
    "    for (int i = 0; i < n; i++) { long t = a + b; a = b; b = t; }\n    return a;\n}",
    "c": "unsigned long fib(unsigned n) {\n    unsigned long a = 0, b = 1, t;\n"
    "    while (n--) { t = a + b; a = b; b = t; }\n    return a;\n}",
    "json": '{\n  "name": "aimo-magic",\n  "models": ["openai/gpt-4o", "DeepSeek-V3-1"],\n'
    '  "stream": true\n}',
    "html": '<!doctype html>\n<html lang="en">\n  <body>\n    <h1>Hello</h1>\n  </body>\n</html>',
    "css": ".answer {\n  font-family: system-ui, sans-serif;\n  line-height: 1.5;\n}",
    "r": "fib <- function(n) {\n  a <- 0; b <- 1\n"
    "  for (i in seq_len(n)) { t <- a + b; a <- b; b <- t }\n  a\n}",
}
CODE_ALIASES = {
    "py": "python",
    "js": "javascript",
    "ts": "typescript",
    "sh": "bash",
    "shell": "bash",
    "zsh": "bash",
    "golang": "go",
    "c++": "c",
    "cpp": "c",
}


def code_snippet(language: str) -> str:
    key = CODE_ALIASES.get(language, language)
    return CODE_SNIPPETS.get(key, f"# an example in {language}\nprint('hello from {language}')")


def _fence(language: str, body: str | None = None) -> str:
    return f"```{language}\n{body if body is not None else code_snippet(language)}\n```"


def rich_markdown(topic: str, variant: int) -> str:
    """One of three rich markdown answers; each has every construct a notebook renders."""
    if variant == 0:
        return f"""# Notes on: {topic}

You asked about **{topic}**. Here is a structured overview with *emphasis*, `inline code`
and a [link to the docs](https://docs.aimo.network/).

## Key points

- Work in small, **testable** steps
- Measure before optimising
  - profile first
  - then change one thing at a time
- Keep a record of what you tried

## Procedure

1. Load the data
2. Clean it
3. Fit the model, whose loss is $L(\\theta) = \\frac{{1}}{{n}}\\sum_i (y_i - \\hat y_i)^2$
4. Report the results

## Comparison

| Approach | Time (s) | Memory (MB) |
|----------|---------:|------------:|
| Naive    | 12.4     | 512         |
| Vectorised | 0.8    | 640         |
| Streaming | 1.1     | 64          |

The growth rate is $O(n \\log n)$, and the closed form is

$$
F_n = \\frac{{\\varphi^n - \\psi^n}}{{\\sqrt{{5}}}}
$$

### Python

{_fence("python")}

### JavaScript

{_fence("javascript")}

### SQL

{_fence("sql")}

### Bash

{_fence("bash")}

> **Tip:** run each block in its own cell.
"""
    if variant == 1:
        return f"""## {topic}: a short answer

Let me break **{topic}** down.

### Ingredients

* A clear question
* A *small* example
* A way to check the result

### Steps

1. Write the query:

{_fence("sql")}

2. Prepare the environment:

{_fence("bash")}

3. Explore in Python:

{_fence("python")}

4. Show it in the browser:

{_fence("javascript")}

### Summary table

| Step | Tool | Output |
|------|------|--------|
| 1 | SQL | rows |
| 2 | shell | files |
| 3 | Python | a chart |

Euler's identity $e^{{i\\pi}} + 1 = 0$ ties it together, and the Gaussian integral is

$$\\int_{{-\\infty}}^{{\\infty}} e^{{-x^2}}\\,dx = \\sqrt{{\\pi}}$$

---
*That is all for {topic}.*
"""
    return f"""# {topic}

**Short answer:** it depends, but here is how to think about it.

## Checklist

- [x] read the question
- [ ] try an example
- [ ] compare the options

## Options compared

| Option | Pros | Cons |
|:-------|:-----|:-----|
| A | simple | slow |
| B | fast | complex |
| C | balanced | needs tuning |

## In order

1. Start with option **A**.
2. Move to **B** when $n > 10^6$.
3. Settle on **C** if the variance $\\sigma^2$ matters.

$$
\\bar{{x}} = \\frac{{1}}{{n}} \\sum_{{i=1}}^{{n}} x_i, \\qquad
\\sigma^2 = \\frac{{1}}{{n}} \\sum_{{i=1}}^{{n}} (x_i - \\bar{{x}})^2
$$

## Code

{_fence("bash")}

{_fence("python")}

{_fence("javascript")}

{_fence("sql")}
"""


HOSTILE_MARKDOWN = """# Totally normal answer

Here is some text with <script>alert(1)</script> inside a paragraph.

<script>document.body.innerHTML = 'pwned'</script>

An image: <img src=x onerror=alert(1)>

A markdown link: [click](javascript:alert(1)) and an image ![x](javascript:alert(2))

A raw link: <a href="javascript:alert(1)">x</a> and <a href="JaVaScRiPt:alert(1)">y</a>

<iframe src="https://example.invalid/evil"></iframe>

<svg onload=alert(1)><circle r="10"/></svg>

<style>body{display:none}</style>

<div onclick="alert(1)" style="position:fixed;inset:0">click anywhere</div>

A data URL: [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) and
<img src="data:image/svg+xml,<svg onload=alert(1)>">

<object data="javascript:alert(1)"></object> <embed src="javascript:alert(1)">

<form action="javascript:alert(1)"><button>submit</button></form>

<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table>
</mtext></math>

<meta http-equiv="refresh" content="0;url=javascript:alert(1)">

<base href="javascript:alert(1)//">

<details open ontoggle=alert(1)><summary>open me</summary></details>

<input autofocus onfocus=alert(1)>

`<script>alert("inside inline code is fine")</script>`

```html
<script>alert("inside a code block is fine")</script>
```
"""

_SECTION_LANGS = ("python", "javascript", "sql", "bash", "rust", "go")


def long_markdown(topic: str, kilobytes: int) -> str:
    """Repeated sections with varying content until the text is about ``kilobytes`` KiB."""
    target = kilobytes * 1024
    parts = [f"# A long answer about {topic}\n"]
    size, index = len(parts[0]), 0
    while size < target:
        index += 1
        language = _SECTION_LANGS[index % len(_SECTION_LANGS)]
        code = _fence(language, f"# section {index}\n" + code_snippet(language))
        section = f"""
## Section {index}: part {index} of the answer

Paragraph {index} explains step {index} of **{topic}**; its cost is $O(n^{{{index % 4 + 1}}})$.

- point {index}.1 about {topic}
- point {index}.2 with `value_{index}`
- point {index}.3, see section {max(index - 1, 1)}

1. first action of step {index}
2. second action of step {index}

| item | value | square |
|------|------:|-------:|
| a{index} | {index} | {index * index} |
| b{index} | {index + 1} | {(index + 1) ** 2} |

{code}
"""
        parts.append(section)
        size += len(section)
    return "".join(parts)


_VOCABULARY = (
    "river stone light quiet model token stream answer window paper garden signal "
    "number bridge cloud market network provider ledger notebook kernel cell render "
    "simple careful bright early late green blue amber north south measure count "
    "gather sort build test wait read write send receive balance price context "
    "history thread turn"
)
_WORDS = tuple(_VOCABULARY.split())


def plain_words(count: int) -> str:
    """Exactly ``count`` whitespace-separated words of plain text, in sentences."""
    words = []
    for i in range(count):
        word = _WORDS[(i * 7 + i // len(_WORDS)) % len(_WORDS)]
        if i % 12 == 0:
            word = word.capitalize()
        if i % 12 == 11 or i == count - 1:
            word += "."
        words.append(word)
    return " ".join(words)
