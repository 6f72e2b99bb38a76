"""Writes tests/data/ifeval_cases.jsonl: hard-edge IFEval cases labelled by the reference checkers.

Each line: {"instruction_id", "kwargs", "prompt", "response", "strict", "loose", "edge"}, where
strict/loose are what lm_eval's ifeval utils.py gives (see tests/ifeval_oracle.py; its docstring has
the pip line for the oracle's dependencies). All text here was written for prefmill; the seed is fixed,
so the file is reproducible:

    python tests/data/make_ifeval_cases.py           # (re)write the file
    python tests/data/make_ifeval_cases.py --check   # exit 1 if the file differs from a fresh run

Every case is labelled twice, by the oracle's port of utils.py and by utils.py's own functions, and
the two must agree. Cases whose verdict goes through langdetect are labelled under several langdetect
seeds and kept only when every seed agrees (the reference does not seed langdetect).
"""

from __future__ import annotations

import json
import logging
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import ifeval_oracle  # noqa: E402

SEED = 20250611
OUT = HERE / "ifeval_cases.jsonl"
LANGDETECT_IDS = {
    "language:response_language",
    "change_case:english_capital",
    "change_case:english_lowercase",
}
LANGDETECT_SEEDS = range(8)

# ---------------------------------------------------------------------------------------------
# Text written for this file.

TOPICS = [
    "Write a short note about keeping sourdough starter alive over a long weekend.",
    "Describe how a night train crosses a mountain pass in winter.",
    "Explain to a new volunteer how the community tool library lends out drills.",
    "Give advice on planning a vegetable bed in a narrow city backyard.",
    "Summarize why a lighthouse keeper logs the weather every four hours.",
    "Tell a story about a bicycle courier who finds a lost violin.",
    "Explain how a small bakery decides how many loaves to bake each morning.",
    "Describe a quiet museum gallery after closing time.",
    "Write a product blurb for a waterproof hiking notebook.",
    "Explain how to repot a cactus without getting pricked.",
]

VOCAB = (
    "amber harbor lantern meadow pebble orchard kettle ribbon canyon willow marble drift "
    "quiet copper ladder walnut saddle thistle beacon cobble ferry glacier hollow juniper "
    "kiln linen mosaic nectar oyster prairie quartz rudder spindle timber umber velvet "
    "wharf yarrow zephyr basket candle dune ember fossil garnet heron island jetty"
).split()

SENTENCES = [
    "The kettle whistled while the rain tapped on the tin roof.",
    "Our ferry left the harbor just before the fog rolled in.",
    "She stacked the walnut crates beside the orchard gate.",
    "A heron waited in the shallows without moving a feather.",
    "The copper lantern swung gently above the workbench.",
    "We measured the flour twice because the recipe was new.",
    "Every Tuesday the library lends out ladders and saws.",
    "The glacier had retreated far beyond the old marker stone.",
    "Thistles grew along the fence where nobody mowed.",
    "He oiled the bicycle chain before the long descent.",
    "The night train slowed as it climbed toward the pass.",
    "Bread dough rises faster in a warm kitchen.",
    "The museum guard switched off the lights one gallery at a time.",
    "Seedlings need more light than a north window gives them.",
    "Our notebook survived a full day of drizzle on the ridge.",
]

FRENCH = (
    "Le boulanger prépare le pain chaque matin avant le lever du soleil, "
    "et les habitants du quartier viennent acheter des croissants encore chauds."
)
GERMAN = (
    "Der Zug fährt langsam durch das verschneite Tal, und die Reisenden schauen "
    "schweigend aus dem Fenster auf die hohen Berge."
)
SPANISH = (
    "La biblioteca del barrio presta herramientas a los vecinos, y cada sábado "
    "los voluntarios revisan los taladros y las escaleras."
)
ITALIAN = (
    "Il guardiano del faro annota il tempo ogni quattro ore e controlla la lampada "
    "prima che arrivi la notte sul mare."
)
PORTUGUESE = (
    "O jardineiro plantou tomates e alfaces no canteiro estreito atrás da casa, "
    "e regou tudo antes do almoço."
)
RUSSIAN = (
    "Ночной поезд медленно поднимается к перевалу, а пассажиры смотрят на снег "
    "за окном и пьют горячий чай."
)
JAPANESE = "夜行列車はゆっくりと峠を越えて、乗客たちは窓の外の雪景色を静かに眺めていました。"
KOREAN = "작은 빵집은 매일 아침 몇 개의 빵을 구울지 날씨와 주문을 보고 결정합니다."
CHINESE = "这家小面包店每天早上根据天气和订单决定要烤多少个面包。"
HINDI = "पुस्तकालय हर मंगलवार को पड़ोसियों को सीढ़ियाँ और आरी उधार देता है।"
FINNISH = "Majakanvartija kirjaa sään joka neljäs tunti ja tarkistaa lampun ennen yön tuloa."
ENGLISH_PARA = (
    "The community tool library lends drills, ladders and saws to anyone with a card. "
    "Volunteers check each tool when it comes back and write down anything that needs repair."
)

# ---------------------------------------------------------------------------------------------

rng = random.Random(SEED)
CASES: list[dict] = []


def words(n: int) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(n))


def sentence(k: int = 6) -> str:
    w = [rng.choice(VOCAB) for _ in range(k)]
    return " ".join([w[0].capitalize()] + w[1:]) + "."


def sentences(n: int) -> str:
    return " ".join(sentence(rng.randint(4, 8)) for _ in range(n))


def real_sentences(n: int) -> str:
    return " ".join(rng.sample(SENTENCES, n))


def describe(iid: str, kwargs: dict) -> str:
    registry = ifeval_oracle.load_reference()
    inst = registry[iid](iid)
    return inst.build_description(**{k: v for k, v in kwargs.items() if v})


def add(iid: str, kwargs: dict, response: str, edge: str, prompt: str | None = None, expect: int | None = None) -> None:
    """One case; `expect`: the count the edge claims, checked against the reference's own count."""
    if prompt is None:
        prompt = f"{rng.choice(TOPICS)} {describe(iid, kwargs)}"
    CASES.append({"instruction_id": iid, "kwargs": kwargs, "prompt": prompt, "response": response, "edge": edge, "expect": expect})


def blanks(iid: str, kwargs: dict) -> None:
    add(iid, kwargs, "", "empty response")
    add(iid, kwargs, "  \n\t \n ", "whitespace-only response")


# ---------------------------------------------------------------------------------------------
# keywords


def keywords_existence() -> None:
    iid = "keywords:existence"
    kw = {"keywords": ["lantern", "harbor"]}
    blanks(iid, kw)
    add(iid, kw, "The lantern hung by the harbor wall.", "both keywords present")
    add(iid, kw, "The lantern hung by the pier.", "one of two keywords missing")
    add(iid, kw, "LANTERN light over the Harbor.", "keywords in other case (match is case-insensitive)")
    add(iid, {"keywords": ["cat"]}, "Pick a category from the list.", "keyword 'cat' only inside 'category' (substring counts)")
    add(iid, {"keywords": ["cat"]}, "The c*at slept by the stove.", "keyword split by an asterisk (loose removes '*')")
    add(iid, {"keywords": ["tide pool"]}, "We found a tide\npool full of snails.", "two-word keyword broken by a newline")
    add(iid, {"keywords": ["tide pool"]}, "We found a tide  pool full of snails.", "two-word keyword with a double space")
    add(iid, {"keywords": ["tide pool"]}, "We found a tide pool full of snails.", "two-word keyword exact")
    add(iid, {"keywords": ["e.g."]}, "We fried eggs on the camp stove.", "keyword 'e.g.' used as a regex matches 'eggs'")
    add(iid, {"keywords": ["e.g."]}, "Bring warm layers, e.g. a fleece.", "keyword 'e.g.' literally present")
    add(iid, {"keywords": ["harbor"]}, "Harbor\nThe boats were tied up for the night.", "keyword only on the first line")
    add(iid, {"keywords": ["harbor"]}, "**harbor** lights at dusk", "keyword inside markdown bold")
    add(iid, {"keywords": ["naïve"]}, "It was a naive plan from the start.", "accented keyword vs unaccented text")
    add(iid, {"keywords": ["ladder", "drill", "saw"]}, "Borrow a ladder, a drill and a saw.", "three keywords all present")
    add(iid, {"keywords": ["ladder", "drill", "saw"]}, "Borrow a ladder and a drill; we sawed nothing.", "third keyword only as 'sawed'")


def keywords_frequency() -> None:
    iid = "keywords:frequency"
    for rel in ("at least", "less than"):
        for n in (1, 2, 3, 4):
            kw = {"keyword": "ferry", "frequency": n, "relation": rel}
            for k in sorted({n - 1, n, n + 1} - {-1}):
                body = " ".join(["The ferry docked." if i < k else "The gulls circled overhead." for i in range(max(k, 1) + 1)])
                add(iid, kw, body, f"'{rel} {n}' with exactly {k} occurrences", expect=k)
    kw = {"keyword": "cat", "frequency": 3, "relation": "at least"}
    blanks(iid, kw)
    add(iid, kw, "One category, one concatenation, one catalog.", "three occurrences only inside other words")
    add(iid, kw, "CAT, Cat, cat.", "three occurrences in mixed case")
    add(iid, {"keyword": " cat ", "frequency": 2, "relation": "at least"}, "The cat and the other cat.", "keyword kwarg with surrounding spaces (stripped)")
    add(iid, {"keyword": "aa", "frequency": 2, "relation": "at least"}, "aaa", "overlapping occurrences are not counted twice")
    add(iid, {"keyword": "aa", "frequency": 2, "relation": "at least"}, "aaaa", "four letters give two non-overlapping occurrences")
    kw = {"keyword": "harbor", "frequency": 2, "relation": "less than"}
    add(iid, kw, "Harbor harbor\nThe boats were quiet.", "'less than 2' with both occurrences on the first line (loose drops it)")
    add(iid, kw, "The boats were quiet.\nharbor harbor", "'less than 2' with both occurrences on the last line (loose drops it)")
    add(iid, {"keyword": "lantern", "frequency": 1, "relation": "less than"}, "No lights tonight.", "'less than 1' with zero occurrences")


def forbidden_words() -> None:
    iid = "keywords:forbidden_words"
    kw = {"forbidden_words": ["cat", "dog"]}
    blanks(iid, kw)
    add(iid, kw, "The rabbit slept in the garden.", "no forbidden word")
    add(iid, kw, "The cat slept in the garden.", "one forbidden word present")
    add(iid, kw, "The CAT slept in the garden.", "forbidden word in capitals (case-insensitive)")
    add(iid, kw, "Pick a category and a dogma.", "forbidden words only inside longer words (\\b boundary)")
    add(iid, kw, "Three cats and two dogs.", "plural forms only")
    add(iid, kw, "A cat-like grace.", "hyphenated 'cat-like'")
    add(iid, kw, "The cat's bowl was empty.", "possessive 'cat's'")
    add(iid, kw, "Open the cat_food tin.", "underscore joins 'cat_food' into one word")
    add(iid, kw, "Cat\nThe garden was quiet all afternoon.", "forbidden word only on the first line (loose drops it)")
    add(iid, kw, "The garden was quiet.\nNo dog.", "forbidden word only on the last line (loose drops it)")
    add(iid, {"forbidden_words": ["ice cream"]}, "We had ice  cream after dinner.", "two-word forbidden phrase with a double space")
    add(iid, {"forbidden_words": ["ice cream"]}, "We had ice cream after dinner.", "two-word forbidden phrase exact")
    add(iid, {"forbidden_words": ["harbor", "harbor"]}, "The boats rested.", "duplicate forbidden words")
    add(iid, kw, "The c*at slept.", "forbidden word split by an asterisk (loose also tries the unchanged response)")


def letter_frequency() -> None:
    iid = "keywords:letter_frequency"
    for rel in ("at least", "less than"):
        for n in (3, 5, 10):
            kw = {"letter": "z", "let_frequency": n, "let_relation": rel}
            for k in (n - 1, n, n + 1):
                body = "The " + " ".join(["zebra"] * k) + " walked by the river."
                add(iid, kw, body, f"letter 'z' '{rel} {n}' with exactly {k}", expect=k)
    kw = {"letter": "z", "let_frequency": 3, "let_relation": "at least"}
    blanks(iid, kw)
    add(iid, kw, "ZZZ", "three capital Z letters (counted lowercased)")
    add(iid, {"letter": "Z", "let_frequency": 3, "let_relation": "at least"}, "zzz", "letter kwarg given in capitals")
    add(iid, {"letter": "e", "let_frequency": 3, "let_relation": "at least"}, "Café été résumé", "accented é is not the letter e")
    add(iid, {"letter": "e", "let_frequency": 3, "let_relation": "at least"}, "E É e é E", "capital E counts, É does not")
    add(iid, {"letter": "q", "let_frequency": 2, "let_relation": "less than"}, "Quiet quilts\nare warm.", "'less than 2' with both q on the first line (loose drops it)")
    add(iid, {"letter": "x", "let_frequency": 1, "let_relation": "less than"}, "No such letter here.", "'less than 1' with zero occurrences")


# ---------------------------------------------------------------------------------------------
# language


def response_language() -> None:
    iid = "language:response_language"
    samples = {
        "en": ENGLISH_PARA,
        "fr": FRENCH,
        "de": GERMAN,
        "es": SPANISH,
        "it": ITALIAN,
        "pt": PORTUGUESE,
        "ru": RUSSIAN,
        "ja": JAPANESE,
        "ko": KOREAN,
        "hi": HINDI,
        "fi": FINNISH,
    }
    for lang, text in samples.items():
        add(iid, {"language": lang}, text, f"{lang} text, {lang} asked")
    add(iid, {"language": "fr"}, GERMAN, "German text, French asked")
    add(iid, {"language": "es"}, PORTUGUESE, "Portuguese text, Spanish asked")
    add(iid, {"language": "it"}, SPANISH, "Spanish text, Italian asked")
    add(iid, {"language": "ru"}, "Ночной поезд медленно поднимается к перевалу, а пассажиры пьют чай.", "Russian text, Russian asked (shorter)")
    add(iid, {"language": "uk"}, RUSSIAN, "Russian text, Ukrainian asked")
    add(iid, {"language": "en"}, FRENCH, "French text, English asked")
    add(iid, {"language": "ja"}, CHINESE, "Chinese text, Japanese asked (shared Han characters)")
    add(iid, {"language": "en"}, "12345 678 90", "digits only: langdetect raises, counted as followed")
    add(iid, {"language": "de"}, "12345 678 90", "digits only with another language asked")
    add(iid, {"language": "fr"}, "Here is my answer in French:\n" + FRENCH, "English preface line then French (loose drops it)")
    add(iid, {"language": "fr"}, FRENCH + "\n\nI hope this helps with your trip and your bakery visit today.", "French text with an English closing line")
    add(iid, {"language": "en"}, "", "empty response")
    add(iid, {"language": "en"}, " \n ", "whitespace-only response")


# ---------------------------------------------------------------------------------------------
# length constraints


def number_sentences() -> None:
    iid = "length_constraints:number_sentences"
    for rel in ("at least", "less than"):
        for n in (1, 2, 3, 5, 8):
            kw = {"num_sentences": n, "relation": rel}
            for k in sorted({n - 1, n, n + 1} - {0}):
                add(iid, kw, real_sentences(k), f"'{rel} {n}' with exactly {k} plain sentences", expect=k)
    at3 = {"num_sentences": 3, "relation": "at least"}
    lt3 = {"num_sentences": 3, "relation": "less than"}
    blanks(iid, at3)
    abbrevs = [
        ("Dr. Lee checked the kettle. It was still warm.", "'Dr.' title abbreviation"),
        ("We shipped it to the U.S. last week. It arrived fine.", "'U.S.' in mid-sentence"),
        ("We moved to the U.S. The weather was colder.", "'U.S.' at the end of a sentence"),
        ("The train leaves at 5 p.m. every day. Be early.", "'p.m.' in mid-sentence"),
        ("The train leaves at 5 p.m. Be early.", "'p.m.' ending a sentence"),
        ("Bring layers, e.g. a fleece and a shell. The ridge is windy.", "'e.g.' in mid-sentence"),
        ("Pack tools, i.e. a drill and bits. Return them Monday.", "'i.e.' in mid-sentence"),
        ("Mr. and Mrs. Okafor run the bakery. They open at six.", "'Mr.' and 'Mrs.'"),
        ("The loaf costs $3.50 today. Yesterday it was cheaper.", "decimal number"),
        ("Wait... is that the ferry? Yes! It is early.", "ellipsis, question and exclamation"),
        ("The harbor was quiet\nThe boats rested\nNobody spoke", "three lines without final punctuation"),
        ("* Check the starter.\n* Feed it flour.\n* Keep it warm.", "three bullet lines with periods"),
        ("She said, \"Keep it warm.\" Then she left. The door clicked.", "quoted sentence inside a sentence"),
        ("See section 2.1 of the manual. It explains the drill. Read it twice.", "section number 2.1"),
        ("Prof. Adeyemi visited St. Ives. She liked the harbor.", "'Prof.' and 'St.' abbreviations"),
        ("It's 9 a.m. in Lisbon and the ferry has left. We missed it.", "'a.m.' mid-sentence"),
        ("We met Dr. Osei at 10 a.m. on Friday. She was late.", "'Dr.' and 'a.m.' together"),
        ("Bring tools etc. to the shed. Leave the keys.", "'etc.' mid-sentence"),
        ("Write to J. R. Tolkien Society. They reply slowly.", "initials 'J. R.'"),
        ("The shop (open daily.) sells bread. It also sells jam.", "period inside parentheses"),
        ("Visit example.com for details. The page lists hours.", "domain name with a dot"),
        ("the harbor was quiet. the boats rested.", "lowercase sentence starts"),
        ("The harbor was quiet.The boats rested.", "no space after the period"),
    ]
    for text, edge in abbrevs:
        add(iid, at3, text, f"{edge} ('at least 3')")
        add(iid, lt3, text, f"{edge} ('less than 3')")
    add(iid, {"num_sentences": 2, "relation": "less than"}, "Here you go:\n" + real_sentences(2), "preface line makes 3 with 2 real sentences ('less than 2'; loose drops it)")


def number_paragraphs() -> None:
    iid = "length_constraints:number_paragraphs"
    for n in (1, 2, 3, 4, 5):
        kw = {"num_paragraphs": n}
        for k in sorted({n - 1, n, n + 1} - {0}):
            add(iid, kw, "\n***\n".join(sentences(2) for _ in range(k)), f"{n} asked, {k} paragraphs split by ***", expect=k)
    kw = {"num_paragraphs": 3}
    blanks(iid, kw)
    p = [sentences(2) for _ in range(4)]
    add(iid, kw, "***\n" + "\n***\n".join(p[:3]), "leading *** before the first paragraph")
    add(iid, kw, "\n***\n".join(p[:3]) + "\n***", "trailing *** after the last paragraph")
    add(iid, kw, p[0] + "\n***\n\n***\n" + p[1] + "\n***\n" + p[2], "empty paragraph between two *** (fails)")
    add(iid, kw, "\n\n".join(p[:3]), "three paragraphs split by blank lines only (counted as one)")
    add(iid, {"num_paragraphs": 1}, "\n\n".join(p[:3]), "blank-line paragraphs with 1 asked")
    add(iid, kw, p[0] + "\n****\n" + p[1] + "\n****\n" + p[2], "four-star dividers ****")
    add(iid, kw, p[0] + "\n******\n" + p[1] + "\n***\n" + p[2], "six-star divider (two *** with nothing between)")
    add(iid, kw, p[0] + "\n* * *\n" + p[1] + "\n* * *\n" + p[2], "spaced '* * *' dividers are not ***")
    add(iid, kw, p[0] + "\n---\n" + p[1] + "\n---\n" + p[2], "'---' dividers are not ***")
    add(iid, kw, p[0] + " *** " + p[1] + " *** " + p[2], "*** inline, not on its own line")
    add(iid, kw, p[0] + "***" + p[1] + "***" + p[2], "*** glued to the text")
    add(iid, kw, "Sure, here are three paragraphs.\n***\n" + "\n***\n".join(p[:3]), "preface paragraph makes 4 (loose drops the first line)")
    add(iid, kw, "\n***\n".join(p[:3]) + "\n***\n" + "Let me know.", "closing paragraph makes 4 (loose drops the last line)")
    add(iid, kw, "**Bold start** " + p[0] + "\n***\n" + p[1] + "\n***\n" + p[2], "bold markdown in a paragraph (no extra split)")


def number_words() -> None:
    iid = "length_constraints:number_words"
    for rel in ("at least", "less than"):
        for n in (1, 5, 10, 40, 100, 300):
            kw = {"num_words": n, "relation": rel}
            for k in sorted({n - 1, n, n + 1} - {0}):
                add(iid, kw, words(k), f"'{rel} {n}' with exactly {k} words", expect=k)
    lt5 = {"num_words": 5, "relation": "less than"}
    at5 = {"num_words": 5, "relation": "at least"}
    blanks(iid, at5)
    blanks(iid, lt5)
    tricky = [
        ("don't can't won't", "three contractions (6 \\w+ tokens)"),
        ("e-mail well-known", "two hyphenated words (4 tokens)"),
        ("pi is 3.14 ok", "decimal splits into two tokens"),
        ("snake_case_name plus one", "underscores join a token"),
        ("— … !!! ??? ;;", "punctuation only (0 words)"),
        ("😀 😀 😀 😀 😀 😀", "emoji only (0 words)"),
        ("夜行列車はゆっくりと峠を越えて", "Japanese run without spaces (1 token)"),
        ("café naïve résumé façade", "accented words count as words"),
        ("a b c d", "four single letters"),
        ("http://example.com/a/b", "URL (split on punctuation)"),
        ("U.S.A. is big", "dotted acronym (3 letters count as 3 tokens)"),
        ("1 2 3 4 5", "five numbers"),
    ]
    for text, edge in tricky:
        add(iid, at5, text, f"{edge} ('at least 5')")
        add(iid, lt5, text, f"{edge} ('less than 5')")
    add(iid, lt5, "Here is a short answer for you:\nYes indeed.", "preface line pushes it over (loose drops it)")


def nth_paragraph_first_word() -> None:
    iid = "length_constraints:nth_paragraph_first_word"
    kw = {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "however"}
    blanks(iid, kw)
    a, b, c, d = (sentences(2) for _ in range(4))
    add(iid, kw, f"{a}\n\nHowever {b}\n\n{c}", "3 paragraphs, 2nd starts with 'However'")
    add(iid, kw, f"{a}\n\nMoreover {b}\n\n{c}", "wrong first word")
    add(iid, kw, f"{a}\n\nHowever {b}", "only 2 paragraphs")
    add(iid, kw, f"{a}\n\nHowever {b}\n\n{c}\n\n{d}", "4 paragraphs")
    add(iid, kw, f"{a}\n\nHowever, {b}\n\n{c}", "first word followed by a comma")
    add(iid, kw, f"{a}\n\nHowever: {b}\n\n{c}", "first word followed by a colon (not stripped)")
    add(iid, kw, f"{a}\n\n\"However {b}\n\n{c}", "first word after an opening double quote")
    add(iid, kw, f"{a}\n\n'However {b}\n\n{c}", "first word after an opening single quote")
    add(iid, kw, f"{a}\n\n(However {b}\n\n{c}", "first word after an opening parenthesis")
    add(iid, kw, f"{a}\n\n**However** {b}\n\n{c}", "first word in bold (loose removes '*')")
    add(iid, kw, f"{a}\n\nHOWEVER {b}\n\n{c}", "first word in capitals")
    add(iid, kw, f"{a}\n\nHowever{b}\n\n{c}", "first word glued to the next word")
    add(iid, kw, f"{a}\n\n   However {b}\n\n{c}", "first word after leading spaces")
    add(iid, kw, f"{a}\n\n\nHowever {b}\n\n{c}", "triple newline separator")
    add(iid, kw, f"{a}\n\n\n\nHowever {b}\n\n{c}", "quadruple newline leaves an empty paragraph in the index")
    add(iid, kw, f"{a}\n\nHowever {b}\n\n{c}\n\n", "trailing blank paragraph")
    add(iid, kw, f"\n\n{a}\n\nHowever {b}\n\n{c}", "leading blank paragraph shifts the index")
    add(iid, kw, f"{a}\n***\nHowever {b}\n***\n{c}", "*** separators instead of blank lines")
    add(iid, kw, f"{a}\nHowever {b}\n{c}", "single newlines only")
    add(iid, kw, f"{a}\r\n\r\nHowever {b}\r\n\r\n{c}", "CRLF blank lines are not \\n\\n")
    add(iid, {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "However"}, f"{a}\n\nhowever {b}\n\n{c}", "first_word kwarg capitalized (lowercased)")
    kw1 = {"num_paragraphs": 2, "nth_paragraph": 1, "first_word": "harbor"}
    add(iid, kw1, f"Harbor {a}\n\n{b}", "1st paragraph checked")
    add(iid, kw1, f"Title line\nHarbor {a}\n\n{b}", "first paragraph starts with a title line")
    add(iid, kw1, f"Sure!\n\nHarbor {a}\n\n{b}", "preface paragraph (loose drops the first line)")
    kw3 = {"num_paragraphs": 3, "nth_paragraph": 3, "first_word": "finally"}
    add(iid, kw3, f"{a}\n\n{b}\n\nFinally {c}", "last paragraph checked")
    add(iid, kw3, f"{a}\n\n{b}\n\nFinally. {c}", "first word followed by a period")
    add(iid, kw3, f"{a}\n\n{b}\n\nFinally!{c}", "first word followed by '!' with no space")
    add(iid, kw3, f"{a}\n\n{b}\n\nFinal {c}", "prefix of the first word")


# ---------------------------------------------------------------------------------------------
# detectable content


def number_placeholders() -> None:
    iid = "detectable_content:number_placeholders"
    for n in (1, 2, 3, 4):
        kw = {"num_placeholders": n}
        for k in sorted({n - 1, n, n + 1}):
            body = "Dear " + ", ".join(f"[field {i}]" for i in range(k)) + " thanks." if k else "Dear friend, thanks."
            add(iid, kw, body, f"at least {n} asked, {k} placeholders", expect=k)
    kw = {"num_placeholders": 2}
    blanks(iid, kw)
    add(iid, kw, "Fill [] and [].", "empty brackets count")
    add(iid, kw, "See [the guide](http://example.com) and [the map](http://example.com/m).", "markdown links count as placeholders")
    add(iid, kw, "Write to [name\nsurname] and [city].", "placeholder broken by a newline")
    add(iid, kw, "Use [[name]] here.", "nested brackets count once")
    add(iid, kw, "Use {name} and <city>.", "curly and angle placeholders do not count")
    add(iid, kw, "Use [name and [city].", "unbalanced bracket")
    add(iid, kw, "Use [name] and [city] and (zip).", "round brackets do not count")


def postscript() -> None:
    iid = "detectable_content:postscript"
    ps = {"postscript_marker": "P.S."}
    pps = {"postscript_marker": "P.P.S"}
    blanks(iid, ps)
    body = real_sentences(2)
    for marker, edge in [
        ("P.S. Bring a scarf.", "'P.S.' on its own line at the end"),
        ("p.s. bring a scarf.", "lowercase 'p.s.'"),
        ("P.S Bring a scarf.", "'P.S' without its final period"),
        ("PS: Bring a scarf.", "'PS:' without periods"),
        ("P. S. Bring a scarf.", "'P. S.' with a space"),
        ("P.P.S. Bring a scarf.", "'P.P.S.' only"),
        ("P.P.S Bring a scarf.", "'P.P.S' without the final period"),
        ("PPS Bring a scarf.", "'PPS' without periods"),
        ("P.S.", "bare marker with nothing after it"),
        ("**P.S.** Bring a scarf.", "marker in bold"),
        ("   P.S. Bring a scarf.", "marker after leading spaces"),
        ("Postscript: Bring a scarf.", "spelled out 'Postscript'"),
    ]:
        add(iid, ps, f"{body}\n\n{marker}", f"marker P.S.: {edge}")
        add(iid, pps, f"{body}\n\n{marker}", f"marker P.P.S: {edge}")
    add(iid, ps, f"P.S. Bring a scarf.\n\n{body}", "marker P.S.: postscript at the start, not the end")
    add(iid, ps, f"{body} Read the P.S. below carefully.", "marker P.S.: 'P.S.' mentioned mid-line")
    add(iid, pps, f"{body} See the p.p.s at the bottom.", "marker P.P.S: 'p.p.s' mentioned mid-line")
    add(iid, ps, f"{body}\n\nP.S. Bring a scarf.\nP.P.S. And gloves.", "marker P.S.: both P.S. and P.P.S.")
    add(iid, pps, f"{body}\n\nP.S. Bring a scarf.\nP.P.S. And gloves.", "marker P.P.S: both P.S. and P.P.S.")
    add(iid, {"postscript_marker": "Note:"}, f"{body}\n\nNOTE: Bring a scarf.", "custom marker 'Note:' matched case-insensitively")
    add(iid, {"postscript_marker": "Note:"}, f"{body}\n\nNote - Bring a scarf.", "custom marker 'Note:' without its colon")
    add(iid, {"postscript_marker": " P.S. "}, f"{body}\n\nP.S. Bring a scarf.", "marker kwarg with surrounding spaces (stripped)")


# ---------------------------------------------------------------------------------------------
# detectable format


def bullet_lists() -> None:
    iid = "detectable_format:number_bullet_lists"
    for n in (1, 2, 3, 4, 5):
        kw = {"num_bullets": n}
        for k in sorted({n - 1, n, n + 1} - {0}):
            add(iid, kw, "Here is the list:\n" + "\n".join(f"* {sentence(4)}" for _ in range(k)), f"{n} asked, {k} '*' bullets", expect=k)
        add(iid, kw, "\n".join(f"- {sentence(4)}" for _ in range(n)), f"{n} asked, {n} '-' bullets", expect=n)
    kw = {"num_bullets": 3}
    blanks(iid, kw)
    items = [sentence(4) for _ in range(4)]
    add(iid, kw, "\n".join(f"• {s}" for s in items[:3]), "three '•' bullets are not counted")
    add(iid, kw, "\n".join(f"+ {s}" for s in items[:3]), "three '+' bullets are not counted")
    add(iid, kw, "\n".join(f"{i}. {s}" for i, s in enumerate(items[:3], 1)), "three numbered items are not counted")
    add(iid, kw, "* " + items[0] + "\n- " + items[1] + "\n* " + items[2], "mixed '*' and '-' bullets")
    add(iid, kw, "\n".join(f"* {s}" for s in items[:3]) + "\n---\nThat is all.", "three bullets plus a '---' rule (rule counts)")
    add(iid, kw, "\n".join(f"* {s}" for s in items[:2]) + "\n-5 degrees tonight.", "two bullets plus a '-5 degrees' line")
    add(iid, kw, "\n".join(f"* {s}" for s in items[:3]) + "\n***", "three bullets plus a *** rule (not counted)")
    add(iid, kw, "\n".join(f"* {s}" for s in items[:2]) + "\n* * *", "two bullets plus a '* * *' rule (counts)")
    add(iid, kw, "**Bold heading**\n" + "\n".join(f"* {s}" for s in items[:3]), "bold line is not a bullet")
    add(iid, kw, "*Italic heading*\n" + "\n".join(f"* {s}" for s in items[:3]), "italic line counts as a bullet")
    add(iid, kw, "*\n* " + items[0] + "\n* " + items[1], "empty '*' bullet swallows the next line")
    add(iid, kw, "* " + items[0] + "\n*\n* " + items[1] + "\n* " + items[2], "empty '*' bullet in the middle")
    add(iid, kw, "* " + items[0] + "\n  * " + items[1] + "\n    * " + items[2], "indented sub-bullets count")
    add(iid, kw, "\n".join(f"*{s}" for s in items[:3]), "bullets without a space after '*'")
    add(iid, kw, "\n".join(f"-{s}" for s in items[:3]), "dashes without a space")
    add(iid, kw, "Intro line\n\n" + "\n\n".join(f"* {s}" for s in items[:3]), "bullets separated by blank lines")
    add(iid, kw, "- " + items[0] + "\n- " + items[1] + "\n- " + items[2] + "\n- " + items[3], "four '-' bullets for 3 (fails; loose drops an end line)")
    add(iid, kw, "Use -- as a dash.\n* " + items[0] + "\n* " + items[1], "line starting with text then '--' inside")


def constrained_response() -> None:
    iid = "detectable_format:constrained_response"
    kw: dict = {}
    blanks(iid, kw)
    for text, edge in [
        ("My answer is yes.", "exact yes option"),
        ("My answer is no.", "exact no option"),
        ("My answer is maybe.", "exact maybe option"),
        ("My answer is yes", "yes option without the period"),
        ("my answer is yes.", "lowercase 'my'"),
        ("MY ANSWER IS NO.", "all capitals"),
        ("My answer is probably yes.", "hedged wording"),
        ("Well, My answer is maybe. It depends on the tide.", "option embedded mid-text"),
        ("**My answer is yes.**", "option wrapped in bold"),
        ("My answer is *yes*.", "emphasis inside the option (loose removes '*')"),
        ("My answer is yes. My answer is no.", "two options at once"),
        ("Yes.", "bare 'Yes.'"),
        ("  My answer is no.  \n", "option with surrounding whitespace"),
        ("My  answer is yes.", "double space inside the option"),
        ("My answer is: yes.", "colon inside the option"),
        ("Let me think.\nMy answer is maybe.", "option on the second line"),
    ]:
        add(iid, kw, text, edge)


def highlights() -> None:
    iid = "detectable_format:number_highlighted_sections"
    for n in (1, 2, 3, 4):
        kw = {"num_highlights": n}
        for k in sorted({n - 1, n, n + 1}):
            parts = [f"*{rng.choice(VOCAB)} {rng.choice(VOCAB)}*" for _ in range(k)]
            add(iid, kw, "Notes: " + " then ".join(parts) + " done." if k else "Notes without emphasis.", f"at least {n} asked, {k} *single* highlights", expect=k)
    kw = {"num_highlights": 2}
    blanks(iid, kw)
    add(iid, kw, "**first part** and **second part**", "two **double** highlights")
    add(iid, kw, "*first* and **second**", "one single and one double highlight")
    add(iid, kw, "* * and ** **", "whitespace-only highlights do not count")
    add(iid, kw, "*first\npart* and *second*", "highlight broken by a newline")
    add(iid, kw, "* first item\n* second item", "bullet lines are not highlights")
    add(iid, kw, "Compute 2*3*4 and 5*6*7.", "multiplication signs form highlights")
    add(iid, kw, "***strong one*** here", "one triple-star highlight")
    add(iid, kw, "_first_ and _second_", "underscore emphasis does not count")
    add(iid, kw, "*a*b*c*", "adjacent stars share a delimiter")
    add(iid, kw, "Intro\n*first* and *second*\nEnd", "highlights on a middle line")
    add(iid, {"num_highlights": 1}, "**  **", "double stars around spaces only")


def multiple_sections() -> None:
    iid = "detectable_format:multiple_sections"
    for spl in ("SECTION", "Section"):
        for n in (2, 3, 5):
            kw = {"section_spliter": spl, "num_sections": n}
            for k in (n - 1, n, n + 1):
                add(iid, kw, "\n".join(f"{spl} {i}\n{sentence(5)}" for i in range(1, k + 1)), f"{spl} x{n} asked, {k} sections", expect=k)
    kw = {"section_spliter": "SECTION", "num_sections": 3}
    blanks(iid, kw)
    s3 = [sentence(5) for _ in range(3)]
    add(iid, kw, "\n".join(f"### SECTION {i}\n{s}" for i, s in enumerate(s3, 1)), "markdown heading '### SECTION n'")
    add(iid, kw, "\n".join(f"**SECTION {i}**\n{s}" for i, s in enumerate(s3, 1)), "bold '**SECTION n**'")
    add(iid, kw, "\n".join(f"Section {i}\n{s}" for i, s in enumerate(s3, 1)), "'Section n' when 'SECTION' asked (case-sensitive)")
    add(iid, kw, "\n".join(f"SECTION{i}\n{s}" for i, s in enumerate(s3, 1)), "no space: 'SECTIONn'")
    add(iid, kw, "\n".join(f"SECTION {c}\n{s}" for c, s in zip("ABC", s3)), "lettered 'SECTION A' markers")
    add(iid, kw, "\n".join(f"SECTION {n}\n{s}" for n, s in zip(("I", "II", "III"), s3)), "roman numerals")
    add(iid, kw, "\n".join(f"SECTION {i}: {s}" for i, s in enumerate(s3, 1)), "marker and text on one line")
    add(iid, kw, f"SECTION 1\n{s3[0]} See SECTION 3 below.\nSECTION 2\n{s3[1]}", "a mention of 'SECTION 3' in text counts")
    add(iid, kw, f"SECTIONS 1 to 3 follow.\nSECTION 1\n{s3[0]}\nSECTION 2\n{s3[1]}", "'SECTIONS 1' does not count")
    add(iid, kw, "\n".join(f"SECTION 1\n{s}" for s in s3), "every marker numbered 1")
    add(iid, {"section_spliter": " SECTION ", "num_sections": 2}, f"SECTION 1\n{s3[0]}\nSECTION 2\n{s3[1]}", "spliter kwarg with spaces (stripped)")
    add(iid, {"section_spliter": "Chapter", "num_sections": 2}, f"Chapter 1\n{s3[0]}\nChapter 2\n{s3[1]}", "custom spliter 'Chapter'")
    add(iid, {"section_spliter": "Day", "num_sections": 2}, f"Today 1 thing.\n{s3[0]}\nMonday 2 things.", "custom spliter 'Day' vs 'Today 1'/'Monday 2' (case-sensitive)")
    add(iid, {"section_spliter": "PARAGRAPH", "num_sections": 2}, f"PARAGRAPH 1\n{s3[0]}\nSUBPARAGRAPH 2\n{s3[1]}", "custom spliter inside a longer word 'SUBPARAGRAPH 2'")
    add(iid, {"section_spliter": "Day", "num_sections": 2}, f"Day 1: {s3[0]}\nDay 2: {s3[1]}", "custom spliter 'Day' used as asked")


def json_format() -> None:
    iid = "detectable_format:json_format"
    kw: dict = {}
    blanks(iid, kw)
    obj = '{"name": "harbor", "depth": 12, "tags": ["quiet", "deep"]}'
    for text, edge in [
        (obj, "bare JSON object"),
        ("```json\n" + obj + "\n```", "```json fence"),
        ("```JSON\n" + obj + "\n```", "```JSON fence"),
        ("```Json\n" + obj + "\n```", "```Json fence"),
        ("```jSON\n" + obj + "\n```", "```jSON fence (not stripped)"),
        ("```\n" + obj + "\n```", "bare ``` fence"),
        ("```js\n" + obj + "\n```", "```js fence"),
        ("```jsonc\n" + obj + "\n```", "```jsonc fence"),
        ("```json " + obj + "```", "fence on one line"),
        ("  ```json\n" + obj + "\n```  \n", "fence with surrounding whitespace"),
        ("```json\n" + obj, "opening fence without closing"),
        (obj + "\n```", "closing fence without opening"),
        ("Here is the JSON:\n```json\n" + obj + "\n```", "prose line before the fence (loose drops it)"),
        ("```json\n" + obj + "\n```\nHope this helps.", "prose line after the fence (loose drops it)"),
        ("Here it is:\n" + obj + "\nDone.", "prose lines before and after a bare object (loose drops both)"),
        ("42", "a bare number is valid JSON"),
        ('"just a string"', "a bare string is valid JSON"),
        ("null", "null is valid JSON"),
        ("NaN", "NaN (accepted by Python's json)"),
        ("[1, 2, 3]", "JSON array"),
        ("{'name': 'harbor'}", "single quotes"),
        ('{"name": "harbor",}', "trailing comma"),
        ('{"a": 1}{"b": 2}', "two objects back to back"),
        ('{"note": "use *bold* here"}', "asterisks inside a JSON string"),
        ('{\n  "a": 1\n}', "multi-line object without a fence"),
        ("~~~json\n" + obj + "\n~~~", "tilde fence"),
    ]:
        add(iid, kw, text, edge)


def title() -> None:
    iid = "detectable_format:title"
    kw: dict = {}
    blanks(iid, kw)
    body = real_sentences(2)
    for text, edge in [
        (f"<<Harbor at Dusk>>\n{body}", "title on the first line"),
        (f"{body}\n<<Harbor at Dusk>>", "title at the end"),
        (f"<< >>\n{body}", "blank title '<< >>'"),
        (f"<<>>\n{body}", "empty title '<<>>'"),
        (f"<<  \t  >>\n{body}", "whitespace-only title"),
        (f"<<Harbor\nat Dusk>>\n{body}", "title broken by a newline"),
        (f"<Harbor at Dusk>\n{body}", "single angle brackets"),
        (f"«Harbor at Dusk»\n{body}", "guillemets"),
        (f"<<<Harbor at Dusk>>>\n{body}", "triple angle brackets"),
        (f"<< Harbor at Dusk >>\n{body}", "title with inner spaces"),
        (f"<<*>>\n{body}", "title of just an asterisk"),
        (f"<< >> then <<Harbor>>\n{body}", "blank title followed by a real one on the same line"),
        (f"# Harbor at Dusk\n{body}", "markdown heading instead of << >>"),
        (f"**<<Harbor at Dusk>>**\n{body}", "title wrapped in bold"),
        (f"<<Harbor at Dusk\n{body}", "title never closed"),
        (f"Harbor at Dusk>>\n{body}", "title never opened"),
    ]:
        add(iid, kw, text, edge)


# ---------------------------------------------------------------------------------------------
# combination


def two_responses() -> None:
    iid = "combination:two_responses"
    kw: dict = {}
    blanks(iid, kw)
    a, b, c = real_sentences(1), real_sentences(1), real_sentences(1)
    while b == a:
        b = real_sentences(1)
    for text, edge in [
        (f"{a}\n******\n{b}", "two different responses"),
        (f"{a}\n******\n{a}", "the same response twice"),
        (f"{a}\n******\n{a}  ", "the same response with trailing spaces"),
        (f"{a}\n******\n{b}\n******\n{c}", "three responses"),
        (f"******\n{a}\n******\n{b}", "leading separator"),
        (f"{a}\n******\n{b}\n******", "trailing separator"),
        (f"{a}\n******\n\n******\n{b}", "empty response between two separators"),
        (f"{a}\n*******\n{b}", "seven asterisks"),
        (f"{a}\n*****\n{b}", "five asterisks"),
        (f"{a}\n***\n{b}", "three asterisks"),
        (f"{a} ****** {b}", "separator inline"),
        (f"{a}\n******************\n{b}", "eighteen asterisks (three separators, empty middles)"),
        (f"Response 1: {a}\n******\nResponse 2: {b}", "labelled responses"),
        (f"{a}\n- - -\n{b}", "dashes instead of asterisks"),
        (f"Here are two answers.\n{a}\n******\n{b}", "preface line inside the first response"),
        (f"{a}", "single response"),
    ]:
        add(iid, kw, text, edge)


def repeat_prompt() -> None:
    iid = "combination:repeat_prompt"
    instr = (
        "First repeat the request word for word without change, then give your answer (1. do not say any words "
        "or characters before repeating the request; 2. the request you need to repeat does not include this sentence)"
    )
    reqs = [
        "Write a two line poem about a lighthouse keeper.",
        "List three uses for a broken umbrella.",
        "Explain why bread goes stale faster in the fridge.",
    ]
    for req in reqs:
        kw = {"prompt_to_repeat": req}
        prompt = f"{req} {instr}"
        ans = real_sentences(2)
        add(iid, kw, f"{req}\n{ans}", "exact repeat then answer", prompt)
        add(iid, kw, f"{req.upper()}\n{ans}", "repeat in capitals (case-insensitive)", prompt)
        add(iid, kw, f"   \n{req} {ans}", "leading whitespace before the repeat", prompt)
        add(iid, kw, f"Sure!\n{req}\n{ans}", "preface line before the repeat (loose drops it)", prompt)
        add(iid, kw, f"Sure! {req} {ans}", "preface on the same line", prompt)
        add(iid, kw, f"{req[:-1]}\n{ans}", "repeat missing the final period", prompt)
        add(iid, kw, f"{req}", "repeat with no answer", prompt)
        add(iid, kw, f"{prompt}\n{ans}", "repeats the whole prompt including the instruction", prompt)
        add(iid, kw, f"\"{req}\"\n{ans}", "repeat wrapped in quotes", prompt)
        add(iid, kw, f"{ans}\n{req}", "answer first, repeat after", prompt)
    kw = {"prompt_to_repeat": reqs[0]}
    blanks(iid, kw)
    add(iid, kw, f"**{reqs[0]}**\n{real_sentences(1)}", "repeat in bold (loose removes '*')", f"{reqs[0]} {instr}")
    add(iid, kw, reqs[0].replace(" ", "  ", 1) + "\n" + real_sentences(1), "double space inside the repeat", f"{reqs[0]} {instr}")
    kw2 = {"prompt_to_repeat": "Write a note.\nKeep it short."}
    add(iid, kw2, "Write a note.\nKeep it short.\nThe kettle is on.", "two-line request repeated", "Write a note.\nKeep it short. " + instr)
    add(iid, kw2, "Write a note. Keep it short.\nThe kettle is on.", "two-line request repeated on one line", "Write a note.\nKeep it short. " + instr)


# ---------------------------------------------------------------------------------------------
# start/end


def end_checker() -> None:
    iid = "startend:end_checker"
    kw = {"end_phrase": "Any other questions?"}
    blanks(iid, kw)
    body = real_sentences(2)
    for text, edge in [
        (f"{body} Any other questions?", "ends with the phrase"),
        (f"{body} any other questions?", "phrase in lowercase"),
        (f"{body} Any other questions?   \n\n", "trailing whitespace after the phrase"),
        (f"\"{body} Any other questions?\"", "whole response wrapped in double quotes"),
        (f"“{body} Any other questions?”", "whole response wrapped in curly quotes"),
        (f"'{body} Any other questions?'", "whole response wrapped in single quotes"),
        (f"{body} Any other questions?.", "extra period after the phrase"),
        (f"{body} Any other questions", "phrase without its question mark"),
        (f"{body} Any other questions? Thanks", "a word after the phrase"),
        (f"{body} **Any other questions?**", "phrase in bold (loose removes '*')"),
        (f"{body} Any other questions?\nCheers", "closing line after the phrase (loose drops it)"),
        (f"{body} Any  other questions?", "double space inside the phrase"),
        (f"{body} Any other questions?\"\"", "two closing quotes"),
        ("Any other questions?", "the phrase alone"),
        (f"{body} Any other questions? 🙂", "emoji after the phrase"),
    ]:
        add(iid, kw, text, edge)
    add(iid, {"end_phrase": "  Is there anything else I can help with?  "}, f"{body} Is there anything else I can help with?", "end_phrase kwarg with surrounding spaces (stripped)")
    add(iid, {"end_phrase": "\"Done\""}, f"{body} \"Done\"", "quoted end phrase with response ending in a quote (stripped away)")


def quotation() -> None:
    iid = "startend:quotation"
    kw: dict = {}
    blanks(iid, kw)
    body = real_sentences(2)
    for text, edge in [
        (f"\"{body}\"", "wrapped in double quotes"),
        (f"  \"{body}\"  \n", "wrapped, with surrounding whitespace"),
        (f"“{body}”", "curly double quotes"),
        (f"'{body}'", "single quotes"),
        (f"\"{body}", "opening quote only"),
        (f"{body}\"", "closing quote only"),
        (f"\"{body}\".", "period after the closing quote"),
        ('""', "just two quote marks"),
        ('"', "a single quote mark"),
        ('" "', "quote, space, quote"),
        (f"Here you go:\n\"{body}\"", "preface line before the quoted text (loose drops it)"),
        (f"\"{body}\"\nHope it helps.", "closing line after the quoted text (loose drops it)"),
        (f"**\"{body}\"**", "quoted text in bold (loose removes '*')"),
        ("\"First part.\" and \"second part.\"", "starts and ends with quotes but two quotations"),
        (f"```\n\"{body}\"\n```", "quoted text in a code fence (loose drops both lines)"),
    ]:
        add(iid, kw, text, edge)


# ---------------------------------------------------------------------------------------------
# change case


def capital_word_frequency() -> None:
    iid = "change_case:capital_word_frequency"
    for rel in ("at least", "less than"):
        for n in (1, 2, 3, 5, 10):
            kw = {"capital_frequency": n, "capital_relation": rel}
            for k in sorted({n - 1, n, n + 1}):
                caps = [rng.choice(VOCAB).upper() for _ in range(k)]
                text = "we saw " + " and ".join(caps) + " near the dock." if k else "we saw nothing near the dock."
                add(iid, kw, text, f"'{rel} {n}' with exactly {k} all-caps words", expect=k)
    at2 = {"capital_frequency": 2, "capital_relation": "at least"}
    lt2 = {"capital_frequency": 2, "capital_relation": "less than"}
    blanks(iid, at2)
    for text, edge in [
        ("I think A is right.", "'I' and 'A' count as capital words"),
        ("We moved to the U.S. in May.", "'U.S.' is one capital token"),
        ("NASA-led teams met.", "hyphenated 'NASA-led' is not all caps"),
        ("COVID-19 and MP3 files.", "'COVID-19' and 'MP3' count"),
        ("the AI's plan and the CEO's memo.", "possessives split off: 'AI' and 'CEO'"),
        ("In 2024 and 1999 we sailed.", "numbers are not capital words"),
        ("ÉCOLE and ÜBER are words.", "accented capitals"),
        ("Options (A) or (B) only.", "single letters in parentheses"),
        ("OK. FINE.", "two capital words each before a period"),
        ("**BOLD** words here", "capital word inside bold markers"),
        ("HELLO-WORLD is one.", "hyphenated all-caps token"),
        ("dont SHOUTn't please", "contraction tokenization"),
        ("The ΑΒΓ letters.", "Greek capitals"),
    ]:
        add(iid, at2, text, f"{edge} ('at least 2')")
        add(iid, lt2, text, f"{edge} ('less than 2')")
    add(iid, lt2, "NOTE ON THE DOCK\nwe saw nothing special.", "capital words only on the first line (loose drops it)")


def english_capital() -> None:
    iid = "change_case:english_capital"
    kw: dict = {}
    blanks(iid, kw)
    for text, edge in [
        (ENGLISH_PARA.upper(), "English paragraph in capitals"),
        (ENGLISH_PARA, "English paragraph in normal case"),
        (ENGLISH_PARA.upper()[:-1] + "s", "one lowercase letter at the end"),
        (FRENCH.upper(), "French paragraph in capitals"),
        (GERMAN.upper(), "German paragraph in capitals"),
        (ENGLISH_PARA.upper() + " 123 456.", "capitals with digits"),
        ("SURE, HERE IT IS:\n" + ENGLISH_PARA.upper(), "capital preface line"),
        ("Sure, here it is:\n" + ENGLISH_PARA.upper(), "lowercase preface line (loose drops it)"),
        (ENGLISH_PARA.upper() + "\nthanks!", "lowercase closing line (loose drops it)"),
        ("**" + ENGLISH_PARA.upper() + "**", "capitals in bold"),
        ("THE KETTLE WHISTLED WHILE THE RAIN TAPPED ON THE TIN ROOF OF THE OLD BARN.", "one capital English sentence"),
        ("12345 !!!", "no letters at all"),
        ("ADMIN@EXAMPLE.ORG", "an all-caps e-mail address: langdetect raises, counted as followed"),
        ("OK", "a bare 'OK' (langdetect does not say English)"),
        ("THE KETTLE WHISTLED WHILE THE RAIN TAPPED ON THE TIN ROOF, ß.", "capitals plus a lowercase-only 'ß'"),
        (RUSSIAN.upper(), "Russian in capitals"),
    ]:
        add(iid, kw, text, edge)


def english_lowercase() -> None:
    iid = "change_case:english_lowercase"
    kw: dict = {}
    blanks(iid, kw)
    for text, edge in [
        (ENGLISH_PARA.lower(), "English paragraph in lowercase"),
        (ENGLISH_PARA, "English paragraph in normal case"),
        (ENGLISH_PARA.lower().replace("volunteers", "Volunteers"), "one capitalized word"),
        (ENGLISH_PARA.lower().replace("volunteers check", "i think volunteers check"), "lowercase 'i' pronoun"),
        (ENGLISH_PARA.lower().replace("volunteers check", "I think volunteers check"), "capital 'I' pronoun"),
        (FRENCH.lower(), "French paragraph in lowercase"),
        (SPANISH.lower(), "Spanish paragraph in lowercase"),
        (ENGLISH_PARA.lower() + " 123 456.", "lowercase with digits"),
        ("Sure, here it is:\n" + ENGLISH_PARA.lower(), "capitalized preface line (loose drops it)"),
        (ENGLISH_PARA.lower() + "\nThanks!", "capitalized closing line (loose drops it)"),
        ("the kettle whistled while the rain tapped on the tin roof of the old barn.", "one lowercase English sentence"),
        ("12345 !!!", "no letters at all"),
        ("https://example.com/path", "a lowercase URL: langdetect raises, counted as followed"),
        (JAPANESE, "Japanese has no case"),
        (RUSSIAN.lower(), "Russian in lowercase"),
    ]:
        add(iid, kw, text, edge)


def no_comma() -> None:
    iid = "punctuation:no_comma"
    kw: dict = {}
    blanks(iid, kw)
    for text, edge in [
        ("The ferry left early and the harbor was quiet.", "no comma"),
        ("The ferry left early, and the harbor was quiet.", "one comma"),
        ("It cost 1,000 coins.", "thousands separator"),
        ("港口很安静，渡轮早早离开了。", "full-width comma '，' is not detected"),
        ("الميناء هادئ، والعبارة غادرت", "Arabic comma '،' is not detected"),
        ("Lists use semicolons; dashes — and colons: fine.", "other punctuation only"),
        ("Dear team,\nThe ferry left early.", "comma only on the first line (loose drops it)"),
        ("The ferry left early.\nBest, Ana", "comma only on the last line (loose drops it)"),
        ("Hello,\nThe ferry left.\nBye,", "commas on first and last lines (loose drops both)"),
        ("Use ‚ low-9 quote", "single low-9 quotation mark"),
        (",", "a lone comma"),
        ("Numbers 3.5 and 4.2 only.", "decimal points only"),
    ]:
        add(iid, kw, text, edge)


BUILDERS = [
    keywords_existence,
    keywords_frequency,
    forbidden_words,
    letter_frequency,
    response_language,
    number_sentences,
    number_paragraphs,
    number_words,
    nth_paragraph_first_word,
    number_placeholders,
    postscript,
    bullet_lists,
    constrained_response,
    highlights,
    multiple_sections,
    json_format,
    title,
    two_responses,
    repeat_prompt,
    end_checker,
    quotation,
    capital_word_frequency,
    english_capital,
    english_lowercase,
    no_comma,
]


def ref_count(iid: str, kwargs: dict, response: str) -> int | None:
    """The count the reference's own code arrives at for a count-based instruction (None: not one)."""
    registry = ifeval_oracle.load_reference()
    util = ifeval_oracle.reference_modules()["instructions_util"]
    if iid == "length_constraints:number_words":
        return util.count_words(response)
    if iid == "length_constraints:number_sentences":
        return util.count_sentences(response)
    probes = {
        # id: (kwargs for a threshold n, "at least" (largest n that passes) or "exact" (the n that passes))
        "keywords:frequency": (lambda n: {"keyword": kwargs["keyword"], "frequency": n, "relation": "at least"}, "at least"),
        "keywords:letter_frequency": (lambda n: {"letter": kwargs["letter"], "let_frequency": n, "let_relation": "at least"}, "at least"),
        "detectable_content:number_placeholders": (lambda n: {"num_placeholders": n}, "at least"),
        "detectable_format:number_highlighted_sections": (lambda n: {"num_highlights": n}, "at least"),
        "detectable_format:multiple_sections": (lambda n: {"section_spliter": kwargs["section_spliter"], "num_sections": n}, "at least"),
        "change_case:capital_word_frequency": (lambda n: {"capital_frequency": n, "capital_relation": "at least"}, "at least"),
        "detectable_format:number_bullet_lists": (lambda n: {"num_bullets": n}, "exact"),
        "length_constraints:number_paragraphs": (lambda n: {"num_paragraphs": n}, "exact"),
    }
    if iid not in probes:
        return None
    make, mode = probes[iid]

    def passes(n: int) -> bool:
        checker = registry[iid](iid)
        checker.build_description(**make(n))  # directly: 0 is a real threshold here
        return bool(checker.check_following(response))

    hits = [n for n in range(400) if passes(n)]
    if mode == "at least":
        return max(hits)
    return hits[0] if hits else None


def label(case: dict, registry: dict) -> dict | None:
    import langdetect

    args = (case["instruction_id"], case["kwargs"], case["response"], case["prompt"])
    seeds = LANGDETECT_SEEDS if case["instruction_id"] in LANGDETECT_IDS else [0]
    verdicts = []
    for s in seeds:
        langdetect.DetectorFactory.seed = s
        v = ifeval_oracle.reference_verdict(*args, registry=registry)
        if s == 0:
            u = ifeval_oracle.reference_utils_verdict(*args)
            langdetect.DetectorFactory.seed = 0
            assert u == v, (case, u, v)
        verdicts.append(v)
    langdetect.DetectorFactory.seed = 0
    if any(v != verdicts[0] for v in verdicts):
        print(f"dropped (langdetect unstable): {case['instruction_id']} {case['edge']}", file=sys.stderr)
        return None
    edge = case["edge"]
    if case["response"].strip():
        count = ref_count(case["instruction_id"], case["kwargs"], case["response"])
        if case["expect"] is not None:
            assert count == case["expect"], (case, count)
        elif count is not None or case["instruction_id"] == "length_constraints:number_paragraphs":
            edge += f" [reference count: {count if count is not None else 'none (an empty paragraph fails)'}]"
    return {**{k: case[k] for k in ("instruction_id", "kwargs", "prompt", "response")}, **verdicts[0], "edge": edge}


def build() -> list[dict]:
    registry = ifeval_oracle.load_reference()
    # The reference logs every langdetect failure at ERROR; the cases that hit one say so in their edge.
    logging.getLogger("lm_eval.tasks.ifeval.instructions").setLevel(logging.CRITICAL)
    for b in BUILDERS:
        b()
    seen, rows = set(), []
    for case in CASES:
        key = (case["instruction_id"], json.dumps(case["kwargs"], sort_keys=True), case["response"])
        if key in seen:
            continue
        seen.add(key)
        row = label(case, registry)
        if row is not None:
            rows.append(row)
    missing = set(registry) - {r["instruction_id"] for r in rows}
    assert not missing, f"no case for {sorted(missing)}"
    return rows


def render(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main(argv: list[str]) -> int:
    text = render(build())
    if "--check" in argv:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUT} differs from a fresh run")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} cases to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
