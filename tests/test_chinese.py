"""The Chinese notebooks: code from the scripts, text from notebooks/zh/*.md, the same numbers."""
import importlib.util
import re

import jupytext
import nbformat
import pytest

from conftest import ROOT
from test_notebooks import LESSONS, images, printed, run_with_short_settings

spec = importlib.util.spec_from_file_location("build", ROOT / "notebooks" / "build.py")
build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build)


def english_cells(script):
    return [c for c in jupytext.read(ROOT / script).cells if c.cell_type == "markdown"]


def chinese_notebook(script):
    return nbformat.read(ROOT / "notebooks" / "zh" / script.replace(".py", ".ipynb"),
                         as_version=4)


@pytest.mark.parametrize("script", LESSONS)
def test_every_english_cell_has_its_chinese_cell_and_no_more(script):
    keys = [build.key_of(c) for c in english_cells(script)]
    assert len(set(keys)) == len(keys), "each markdown cell starts with a line of its own"
    translated = build.translation(script)
    assert [k for k in keys if k not in translated] == [], "English cells with no translation"
    assert [k for k in translated if k not in keys] == [], "translations with no English cell"
    for key, text in translated.items():
        assert text.startswith("#") and not text.startswith(key), f"{key}: not translated"


@pytest.mark.parametrize("script", LESSONS)
def test_every_number_of_an_english_cell_is_in_its_chinese_cell(script):
    translated = build.translation(script)
    for cell in english_cells(script):
        missing = build.numbers(cell.source) - build.numbers(translated[build.key_of(cell)])
        assert not missing, f"{script}, {build.key_of(cell)!r}: {sorted(missing)} not in Chinese"


def test_a_changed_english_number_is_caught():
    cell = english_cells("401_rnn_regressor.py")[-1]
    chinese = build.translation("401_rnn_regressor.py")[build.key_of(cell)]
    assert "0.000061" in cell.source and not build.numbers(cell.source) - build.numbers(chinese)
    remeasured = cell.source.replace("0.000061", "0.000062")
    assert build.numbers(remeasured) - build.numbers(chinese) == {"0.000062"}


@pytest.mark.parametrize("script", LESSONS)
def test_chinese_notebook_has_the_scripts_code_and_the_translated_text(script):
    expected = build.notebook_of(script, "zh")
    committed = chinese_notebook(script)
    assert [(c.cell_type, c.source) for c in committed.cells] == \
        [(c.cell_type, c.source) for c in expected.cells], \
        f"notebooks/zh is out of date: run `python notebooks/build.py {script} zh`"
    english = jupytext.read(ROOT / script).cells
    assert [c.source for c in committed.cells if c.cell_type == "code"] == \
        [c.source for c in english if c.cell_type == "code"]
    folded = [c.metadata.get("jupyter", {}).get("source_hidden", False) for c in committed.cells]
    assert folded == [c.metadata.get("jupyter", {}).get("source_hidden", False) for c in english]


@pytest.mark.parametrize("script", LESSONS)
def test_committed_chinese_notebook_shows_its_results(script):
    outputs = [out for cell in chinese_notebook(script).cells if cell.cell_type == "code"
               for out in cell.outputs]
    assert "final: " in printed(outputs) and "image/png" in images(outputs)
    assert not [out for out in outputs if out.output_type == "error"]


def test_a_chinese_notebook_runs_in_a_kernel_and_finds_mnist_two_folders_up(tmp_path):
    """402 in Chinese, its kernel started in notebooks/zh/ as Jupyter starts it: with no DATA_DIR
    set, the lesson must find mnist/ two folders up, not download it."""
    (tmp_path / "mnist").symlink_to(ROOT / "mnist")
    here = tmp_path / "notebooks" / "zh"
    here.mkdir(parents=True)
    outputs = run_with_short_settings(chinese_notebook("402_rnn_classifier.py"),
                                      "402_rnn_classifier.py", here, settings="MAX_STEPS = 5")
    assert "final: test_accuracy=" in printed(outputs)
    assert not (here / "mnist").exists()  # nothing downloaded beside the notebook


# One voice across the four lessons: notebooks/zh/GLOSSARY.md names, for each English term, the
# Chinese rendering to use and the renderings not to use ("、" between them, "—" for none; one in
# backticks is a regular expression, any other is matched as written, ignoring case).
GLOSSARY = ROOT / "notebooks" / "zh" / "GLOSSARY.md"
CODE_SPAN = re.compile(r"`[^`\n]*`")


def glossary_rules(text):
    """[(English term, forbidden rendering as written, compiled pattern)] from the glossary's table."""
    rules = []
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) != 3 or cells[0] == "English" or set(cells[0]) <= set("-: "):
            continue
        term, _, forbidden = cells
        for word in forbidden.split("、"):
            word = word.strip()
            if word in ("", "—"):
                continue
            if word.startswith("`") and word.endswith("`"):
                pattern = re.compile(word[1:-1], re.IGNORECASE)
            else:
                pattern = re.compile(re.escape(word), re.IGNORECASE)
            rules.append((term, word, pattern))
    return rules


CODE_BLOCK = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def chinese_text(markdown):
    """The prose a reader reads: no `<!-- KEY -->` lines, no code (fenced or inline), where
    English belongs."""
    return CODE_SPAN.sub(" ", CODE_BLOCK.sub("", build.KEY_LINE.sub("", markdown)))


def ruled_out(markdown, rules):
    """[(term, forbidden rendering, what the text says)] for every use the glossary rules out."""
    text = chinese_text(markdown)
    return [(term, word, m.group(0)) for term, word, pattern in rules
            for m in pattern.finditer(text)]


def test_glossary_is_a_table_of_rules_that_allows_its_own_renderings():
    rules = glossary_rules(GLOSSARY.read_text(encoding="utf-8"))
    assert len({term for term, _, _ in rules}) >= 25, "the glossary's table was not read"
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 3 and cells[0] != "English" and not set(cells[0]) <= set("-: "):
            # A rendering the glossary asks for must not be one it rules out, under any term.
            assert ruled_out(cells[1], rules) == [], f"{cells[0]}: {cells[1]} is ruled out"


@pytest.mark.parametrize("script", LESSONS)
def test_chinese_text_uses_the_glossarys_renderings(script):
    rules = glossary_rules(GLOSSARY.read_text(encoding="utf-8"))
    name = script.replace(".py", ".md")
    found = ruled_out((ROOT / "notebooks" / "zh" / name).read_text(encoding="utf-8"), rules)
    assert found == [], "\n".join(f"{name}: {term!r} written as {said!r} (ruled out: {word})"
                                  for term, word, said in found)


def test_glossary_check_catches_a_ruled_out_rendering_and_spares_the_right_ones():
    rules = glossary_rules(GLOSSARY.read_text(encoding="utf-8"))
    wrong = ("<!-- ## Reading the results, seed 1 -->\n"
             "c（记忆单元）在 2 核 CPU 上 7 到 25 s。模型学到了一个属于自己的循环（seed 2）。\n")
    found = {(term, said) for term, _, said in ruled_out(wrong, rules)}
    assert {said for _, said in found} == {"记忆单元", "5 s", "的循环", "seed"}, found
    assert ("seed", "seed") in found and ("cell state (c)", "记忆单元") in found
    right = ("<!-- ## seed 1 -->\n循环神经网络用 Python 循环遍历时间步（Python 的循环）；循环权重正交；"
             "`--seed 1` 与随机种子 1；7 到 25 秒；两个周期；c 是细胞状态；`wall_s=`。\n")
    assert ruled_out(right, rules) == []


# marked 4.x (JupyterLab 3 to 4.0) takes only ASCII punctuation as the edge of a bold span, so
# `**(a, b)**（…）` shows its asterisks there: a `**` between ASCII punctuation and a full-width
# character, on either side.
ASCII_PUNCT = r"""[!-/:-@\[-`{-~]"""
STRANDED_BOLD = re.compile(rf"{ASCII_PUNCT}\*\*[^\x00-\x7f]|[^\x00-\x7f]\*\*{ASCII_PUNCT}")
# Italics on Chinese text: a browser can only fake the slant.
CHINESE_ITALIC = re.compile(r"(?<![*\\])\*(?![*\s])[^*\n]*[\u3000-\u9fff\uff00-\uffef][^*\n]*"
                            r"(?<![*\s])\*(?!\*)")


@pytest.mark.parametrize("script", LESSONS)
def test_chinese_emphasis_renders_in_every_markdown_engine(script):
    text = (ROOT / "notebooks" / "zh" / script.replace(".py", ".md")).read_text(encoding="utf-8")
    assert STRANDED_BOLD.findall(chinese_text(text)) == []
    assert CHINESE_ITALIC.findall(chinese_text(text)) == []


def test_emphasis_check_catches_a_stranded_bold_and_a_chinese_italic():
    assert STRANDED_BOLD.findall("形状是 **(batch, time)**（批次、时间步）")
    assert not STRANDED_BOLD.findall("形状是 **(batch, time)（批次、时间步）**：")
    assert CHINESE_ITALIC.findall("即*每个*时间步") and not CHINESE_ITALIC.findall("即**每个**时间步")
