"""Synthetic Broadsheet packages for the benchmark: one YAML file per record, about 1 KB each.

The mix is realistic for the flagship kind of data: Cyrillic (Russian), Kazakh and Chinese names, partial
dates, enums, nested child lists (names, status history, citations) and foreign keys between resources.
Deterministic: the same size always gives the same bytes.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "package"

RU = ["Завод", "Комбинат", "Предприятие", "Строительство", "Производство", "металлургический", "химический",
      "энергетический", "текстильный", "пищевой", "Абайская", "область", "Семей", "Аягоз", "Курчатов"]
KK = ["зауыты", "кешені", "кәсіпорны", "құрылысы", "өндірісі", "Абай", "облысы", "Семей", "Аягөз", "Курчатов",
      "тау-кен", "энергетика", "тоқыма", "азық-түлік", "қазақстандық"]
ZH = ["工厂", "有限公司", "投资", "建设", "项目", "新疆", "哈萨克斯坦", "能源", "化工", "纺织", "食品", "物流", "机械",
      "矿业", "集团"]
EN = ["Plant", "Works", "Complex", "Steel", "Energy", "Chemicals", "Textiles", "Foods", "Logistics", "Machinery",
      "Mining", "Abai", "Semey", "Ayagoz", "Kurchatov", "Solar", "Wind", "Copper", "Cement", "Glass"]
SECTORS = ["mining", "energy", "food", "chemicals", "machinery", "logistics", "textiles", "construction"]
STATUSES = ["announced", "signed", "ground-breaking", "construction", "operating", "cancelled"]
PRODUCTS = ["cement", "copper cathode", "solar panels", "flour", "cotton yarn", "fertiliser", "glass", "steel"]


def words(rng: random.Random, vocabulary: list[str], count: int, sep: str = " ") -> str:
    return sep.join(rng.choice(vocabulary) for _ in range(count))


def partial_date(rng: random.Random) -> str:
    year = rng.randint(2015, 2026)
    shape = rng.random()
    if shape < 0.2:
        return str(year)
    if shape < 0.5:
        return f"{year}-{rng.randint(1, 12):02d}"
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid double-quoted YAML scalar


def counts(size: int) -> dict[str, int]:
    sources = max(1, size // 10)
    orgs = max(1, size // 5)
    return {"sources": sources, "orgs": orgs, "plants": max(1, size - sources - orgs)}


def source_record(rng: random.Random, number: int) -> str:
    language = rng.choice(["kk", "ru", "zh", "en"])
    title = {"kk": lambda: words(rng, KK, 8), "ru": lambda: words(rng, RU, 8), "zh": lambda: words(rng, ZH, 10, ""),
             "en": lambda: words(rng, EN, 8)}[language]()
    return (f"id: source-{number}\ntitle: {quoted(title)}\nurl: https://news.example.org/{language}/{number}\n"
            f"language: {language}\npublished: 20{rng.randint(15, 26)}-{rng.randint(1, 12):02d}-"
            f"{rng.randint(1, 28):02d}\nofficial: {rng.choice(['true', 'false'])}\n"
            f"# {words(rng, EN, 12)}\n")


def org_record(rng: random.Random, number: int, sources: int) -> str:
    lines = [f"id: org-{number}", f"name_en: {words(rng, EN, 3)} {number}", f"country: {rng.choice(['KZ', 'CN'])}",
             f"kind: {rng.choice(['company', 'agency', 'government', 'bank'])}", f"founded: {partial_date(rng)}",
             f"staff: {rng.randint(5, 20000)}", f"bin: '{number:012d}'", "names:"]
    for language, script, text in (("kk", "Cyrl", words(rng, KK, 4)), ("ru", "Cyrl", words(rng, RU, 4)),
                                   ("zh", "Hans", words(rng, ZH, 6, ""))):
        lines += [f"  - language: {language}", f"    script: {script}", f"    name: {quoted(text)}"]
    lines.append("citations:")
    for field in ("founded", "staff"):
        lines += [f"  - field: {field}", f"    source_id: source-{rng.randrange(sources)}",
                  f"    locator: paragraph {rng.randint(1, 20)}"]
    return "\n".join(lines) + "\n"


# Fields of the "formats" variant of plants (benchmarks/run.py, section Formats): the same values with or without
# a `format`, so the two packages differ only by what validation must check.
FORMATTED_FIELDS = (("homepage", "uri"), ("contact_email", "email"), ("record_uuid", "uuid"))


def formatted_values(rng: random.Random, number: int) -> list[str]:
    digits = f"{rng.getrandbits(128):032x}"
    uuid = f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-a{digits[17:20]}-{digits[20:]}"
    return [f"homepage: https://plants.example.org/{rng.choice(SECTORS)}/plant-{number}",
            f"contact_email: office-{number}@plants.example.org", f"record_uuid: {uuid}"]


def plant_record(rng: random.Random, number: int, orgs: int, sources: int, formats: bool | None = None) -> str:
    products = ", ".join(rng.sample(PRODUCTS, rng.randint(1, 3)))
    lines = [f"id: plant-{number}", f"name_en: {words(rng, EN, 4)} {number}", f"org_id: org-{rng.randrange(orgs)}",
             f"sector: {rng.choice(SECTORS)}", f"announced: {partial_date(rng)}",
             f"amount: {rng.randint(1, 5000) * 100000}", f"currency: {rng.choice(['USD', 'KZT', 'CNY'])}",
             f"jobs: {rng.randint(10, 3000)}", f"products: [{products}]",
             *(formatted_values(rng, number) if formats is not None else []), "names:"]
    lines += ["  - language: kk", f"    name: {quoted(words(rng, KK, 5))}", "  - language: ru",
              f"    name: {quoted(words(rng, RU, 5))}", "  - language: zh",
              f"    name: {quoted(words(rng, ZH, 8, ''))}"]
    lines.append("status_history:")
    for status in STATUSES[: rng.randint(1, 3)]:
        lines += [f"  - date: {partial_date(rng)}", f"    status: {status}",
                  f"    source_id: source-{rng.randrange(sources)}"]
    lines.append("citations:")
    for field in ("org_id", "announced", "amount", "jobs"):
        lines += [f"  - field: {field}", f"    source_id: source-{rng.randrange(sources)}",
                  f"    locator: paragraph {rng.randint(1, 30)}"]
    return "\n".join(lines) + "\n"


def add_formatted_fields(target: Path, formats: bool) -> None:
    """The plants schema gains FORMATTED_FIELDS, as text fields with their format (True) or without (False)."""
    path = target / "schemas" / "plants.yaml"
    lines = []
    for name, format_name in FORMATTED_FIELDS:
        lines += [f"  - name: {name}", "    type: string"] + ([f"    format: {format_name}"] if formats else [])
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("primaryKey:", "\n".join(lines) + "\nprimaryKey:", 1), encoding="utf-8")


# The "real layout" variant (benchmarks/run.py, section Layouts): the same records kept the ways the real datasets
# of issue 11 keep theirs. Plants in a sub-folder per sector, free file names ending in .yml, the id from its field;
# organisations a hundred to a file, as a mapping of id -> record; sources five hundred to a file, as a list.
LAYOUTS = {"plants": "{folder: plants, recursive: true, suffixes: [.yml], id: field}",
           "orgs": "{records: mapping}", "sources": "{records: list, id: field}"}
RECORDS_PER_FILE = {"orgs": 100, "sources": 500}


def declare_layouts(target: Path) -> None:
    for resource, layout in LAYOUTS.items():
        path = target / "schemas" / f"{resource}.yaml"
        path.write_text(f"x-broadsheet:\n  layout: {layout}\n" + path.read_text(encoding="utf-8"), encoding="utf-8")


def indented(record: str, first: str, rest: str) -> str:
    """A record's lines as an item of a list (`- `, then two spaces) or a value of a mapping (two spaces)."""
    lines = record.rstrip("\n").split("\n")
    return "\n".join([first + lines[0], *(rest + line for line in lines[1:])]) + "\n"


def write_in_layout(folder: Path, resource: str, texts: list[str]) -> None:
    """One resource's record texts, as LAYOUTS keeps them."""
    if resource == "plants":
        for number, text in enumerate(texts):
            sector = next(line for line in text.split("\n") if line.startswith("sector: "))[len("sector: "):]
            (folder / sector).mkdir(exist_ok=True)
            (folder / sector / f"p{number:06d}.yml").write_text(text, encoding="utf-8")
        return
    per_file = RECORDS_PER_FILE[resource]
    for start in range(0, len(texts), per_file):
        chunk = texts[start:start + per_file]
        if resource == "orgs":  # a mapping: each record under its id, which it repeats
            body = "".join(f"{text.split(chr(10), 1)[0][len('id: '):]}:\n" + indented(text, "  ", "  ")
                           for text in chunk)
        else:
            body = "".join(indented(text, "- ", "  ") for text in chunk)
        (folder / f"{resource}-{start // per_file:04d}.yaml").write_text(body, encoding="utf-8")


def generate(target: Path, size: int, seed: int = 7, formats: bool | None = None, real_layout: bool = False) -> Path:
    """Write a package of `size` records into `target` (replacing it) and return its root. With `formats` (True
    or False), plants carry FORMATTED_FIELDS, declared with their format or without it: the same record files.
    With `real_layout`, the same records are kept as LAYOUTS says instead of one file per record named by id."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(TEMPLATE, target)
    if formats is not None:
        add_formatted_fields(target, formats)
    if real_layout:
        declare_layouts(target)
    rng = random.Random(seed)
    n = counts(size)
    makers = {
        "sources": lambda i: source_record(rng, i),
        "orgs": lambda i: org_record(rng, i, n["sources"]),
        "plants": lambda i: plant_record(rng, i, n["orgs"], n["sources"], formats),
    }
    prefix = {"sources": "source", "orgs": "org", "plants": "plant"}
    for resource, make in makers.items():
        folder = target / "datapackage" / resource
        folder.mkdir(parents=True)
        if real_layout:
            write_in_layout(folder, resource, [make(number) for number in range(n[resource])])
            continue
        for number in range(n[resource]):
            (folder / f"{prefix[resource]}-{number}.yaml").write_text(make(number), encoding="utf-8")
    return target
