"""Entity screening (persons, organisations, suppliers) across scripts, its acceptance on
the labelled sets, and the `screen --entities` CLI contract, publishing through a real node."""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA
from typer.testing import CliRunner

from trilink.cli.app import app
from trilink.model.payloads.sanctions import SanctionsHitPayload
from trilink.sanctions.entities import ORGANIZATION, PERSON, VESSEL
from trilink.sanctions.entity_hits import entity_hit_payload
from trilink.sanctions.entity_screen import (
    FUZZY_RATE,
    MATCH_SCORE,
    MAX_EDITS,
    TRANSLIT_EDITS,
    TRANSLIT_RATE,
    EntityQuery,
    EntityScreener,
    _deletes_index,
    _one_edit_from,
    edit_bands,
    entity_key,
)
from trilink.sanctions.evaluate import evaluate_entities
from trilink.sanctions.listset import ListSet
from trilink.sanctions.records import Entity, EntityName
from trilink.sanctions.translit import romanise_hangul, romanise_kana, skeleton

DATA = Path(__file__).resolve().parents[1] / "data" / "sanctions"
runner = CliRunner()


@pytest.fixture(scope="session")
def entity_screener(list_set: ListSet) -> EntityScreener:
    return EntityScreener(list_set.entities)


@pytest.fixture(scope="session")
def eval_screener() -> EntityScreener:
    """The bundled lists plus the real UK sample, as the evaluation sets were built."""
    sys.path.insert(0, str(DATA))
    from make_entity_eval_set import load

    return EntityScreener(load())


def _best(s: EntityScreener, **kw: Any) -> tuple[str | None, str | None]:
    res = s.screen(EntityQuery(**kw))
    return (res.best.entity.uid, res.best.rule) if res.best else (None, None)


# -- romanisation ----------------------------------------------------------------------------


def test_kana_and_hangul_romanisation() -> None:
    assert romanise_kana("ユン・ホジン") == "yun hojin"
    assert romanise_kana("パク・トチュン") == "paku tochun"
    assert romanise_kana("ジェネラル") == "jeneraru"
    assert romanise_kana("ハッカーニ") == "hakkani"  # small tsu doubles, long vowel dropped
    assert romanise_hangul("김영복") == "gim yeongbok"
    assert romanise_hangul("리창호") == "ri changho"
    # the same name in katakana, hangul, McCune-Reischauer and Revised Romanization
    keys = {entity_key(n, False).skel for n in ("キム・ヨンボク", "김영복", "Kim Yong Bok")}
    assert len(keys) == 1
    assert skeleton(["SOK", "HA"]) == skeleton(["SOKUHA"])  # katakana's closing U
    assert skeleton(["PAEK"]) == skeleton(["PEKU"])


def test_legal_forms_and_han() -> None:
    assert entity_key("Korea Ryonbong General Corp.").compact == "KOREARYONBONGGENERAL"
    assert entity_key("KOREA RYONBONG GENERAL CORPORATION").compact == "KOREARYONBONGGENERAL"
    assert entity_key("Namchongang Trading Corportaion").compact == "NAMCHONGANGTRADING"
    assert entity_key("丹東鴻祥実業発展有限公司").han == "丹東鴻祥実業発展"
    assert entity_key("アル・ハラマイン財団").han == ""  # kana with one Han word: not a Han key
    assert entity_key("Pak To-chun", False).compact == "PAKTOCHUN"


# -- screening rules on the real lists -------------------------------------------------------


def test_cross_script_and_romanisation(entity_screener: EntityScreener) -> None:
    s = entity_screener
    uid, rule = _best(s, name="ユン・ホジン", lists=("UN-CONSOLIDATED",))
    assert uid == "UN-CONSOLIDATED:KPi.001" and rule == "name-romanised"
    uid, rule = _best(s, name="Yun Ho Chin", schema=PERSON, lists=("UN-CONSOLIDATED",))
    assert uid == "UN-CONSOLIDATED:KPi.001"
    uid, _ = _best(s, name="ユン・ホジン")
    assert uid == "JP-MOF:15-1"  # the MOF list writes the katakana itself
    assert _best(s, name="Pak Do-chun", schema=PERSON)[0] is not None  # MR T / RR D


def test_organisations(entity_screener: EntityScreener) -> None:
    s = entity_screener
    uid, rule = _best(s, name="korea ryonbong general corp", schema=ORGANIZATION)
    assert uid is not None and rule == "name-normalised"
    uid, rule = _best(s, name="Namchongang Tradng Corporation", schema=ORGANIZATION)
    assert uid is not None and rule == "name-fuzzy"
    assert _best(s, name="Toyota Motor Corporation", schema=ORGANIZATION)[0] is None
    # the query's type restricts what it is compared with
    assert _best(s, name="Ocean Maritime Management", schema=PERSON)[0] is None


def test_company_and_ship_imo_never_confused(entity_screener: EntityScreener) -> None:
    s = entity_screener
    # OMM's company number 1790183 passes the ship check digit: still a company number
    uid, rule = _best(s, name="Blue Harbour Trading", schema=ORGANIZATION, identifier="1790183")
    assert uid is not None and uid.endswith("KPe.020") and rule == "identifier-exact"
    res = s.screen(EntityQuery(name="X", schema=VESSEL, identifier="1790183"))
    assert not res.matched and any("imo-type-differs" in i for i in res.issues)
    # the ship IMO of CHON MA SAN given for an organisation matches nothing
    res = s.screen(
        EntityQuery(name="Sunrise Logistics", schema=ORGANIZATION, identifier="8660313")
    )
    assert not res.matched and any("a ship IMO" in i for i in res.issues)


def test_every_match_is_explained(entity_screener: EntityScreener) -> None:
    res = entity_screener.screen(EntityQuery(name="Ri Je-son", country="KP", schema=PERSON))
    assert res.matched and res.best is not None
    m = res.best
    assert m.entity.list_id in m.reason and m.entity.entry_id in m.reason and m.rule in m.reason
    assert {e.field for e in m.evidence} >= {"name", "country"}
    payload = entity_hit_payload(res)
    assert payload is not None and payload.entities[0].listed.entry_id == m.entity.entry_id
    # the payload is what the node validates: it round-trips through its schema
    wire = msgspec.json.encode(payload)
    assert msgspec.json.decode(wire, type=SanctionsHitPayload) == payload


def test_lists_filter_and_numbers(entity_screener: EntityScreener) -> None:
    res = entity_screener.screen(EntityQuery(name="Ocean Maritime Management", lists=("JP-MOF",)))
    assert res.matched and res.best is not None and res.best.entity.list_id == "JP-MOF"
    a = entity_key("Korea Pugang Trading 2")
    b = entity_key("Korea Pugang Trading 3")
    assert a.compact != b.compact and a.numsig != b.numsig
    # a list no entity is on allows none; two lists allow either
    assert not entity_screener.screen(
        EntityQuery(name="Ocean Maritime Management", lists=("NO-SUCH-LIST",))
    ).candidates
    both = entity_screener.screen(
        EntityQuery(name="Ocean Maritime Management", lists=("JP-MOF", "NO-SUCH-LIST"))
    )
    assert both.candidates and {m.entity.list_id for m in both.candidates} == {"JP-MOF"}


def test_entities_equal_in_score_and_list_are_ranked_by_uid() -> None:
    """The last tie-break is the entity's uid (read from an array of places in uid order)."""
    names = (EntityName(text="Sea Star Shipping Co Ltd", kind="primary", script="Latn"),)
    ents = [Entity(list_id="OFAC-SDN", entry_id=e, schema=ORGANIZATION, names=names)
            for e in ("300", "1000", "20")]  # fmt: skip
    got = EntityScreener(ents).screen(EntityQuery(name="Sea Star Shipping Co Ltd"))
    assert [m.entity.entry_id for m in got.candidates] == ["1000", "20", "300"]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80))
def test_any_text_screens(entity_screener: EntityScreener, text: str) -> None:
    res = entity_screener.screen(EntityQuery(name=text, identifier=text[:20]))
    assert res.matched in (True, False)


@pytest.mark.parametrize(
    ("query", "uid", "read"),
    [
        ("PAEKYANGSAN SHIPPING CO LD", "UK-OFSI:16495", "LD"),
        ("OJSnC ORENBURGNEFT", "OFAC-NON-SDN:18267", "OJSNC"),
        ("RASSVET, OsAO", "OFAC-NON-SDN:20640", "OSAO"),
        ("Korea Samma Shipping OC", "UN-CONSOLIDATED:KPe.065", "OC"),
    ],
)
def test_mistyped_legal_form_at_an_end(
    eval_screener: EntityScreener, query: str, uid: str, read: str
) -> None:
    res = eval_screener.screen(EntityQuery(name=query, schema=ORGANIZATION))
    assert res.best is not None and res.best.entity.uid == uid
    assert res.best.rule == "name-legal-form-typo" and res.best.score == 95.0
    assert f"once {read!r} is read as a mistyped legal form" in res.best.reason
    # a person's name is never cut: "Kim Chol LD" is not "Kim Chol"
    person = eval_screener.screen(EntityQuery(name=query, schema=PERSON))
    assert all(m.rule != "name-legal-form-typo" for m in person.candidates)


def test_legal_forms_alone_and_dotted_initials(eval_screener: EntityScreener) -> None:
    for words in ("Limited Company", "Limited Limited", "Limited Company Incorporated"):
        assert not eval_screener.screen(EntityQuery(name=words, schema=ORGANIZATION)).matched
    # S.A.R.L is SARL, a legal form; S.A. de C.V. is SA DE CV
    assert entity_key("EFAB S.A.R.L").compact == entity_key("EFAB SARL").compact == "EFAB"
    assert entity_key("Sosval, S.A. de C.V.").compact == entity_key("sosval sa de cv").compact
    assert _best(eval_screener, name="EFAB SARL") == ("JP-METI-EUL:729", "name-normalised")


def test_many_word_legal_forms(eval_screener: EntityScreener) -> None:
    # the phrase goes, in any of its spellings; its words alone stay
    assert entity_key("BM BANK PUBLIC JOINT STOCK COMPANY").compact == "BMBANK"
    assert entity_key("LIMITED LIABILITY COMPANY IKSORA").compact == "IKSORA"
    assert entity_key("Obshchestvo s Ogranichennoy Otvetstvennostyu Ekogrupp").compact == (
        entity_key("OOO EKOGRUPP").compact
    )
    assert entity_key("LMITED LIABnILITY COMPANY MEGACOM").compact == "MEGACOM"
    assert entity_key("Ministry of Public Security").compact == "MINISTRYPUBLICSECURITY"
    assert entity_key("General Joint Co., Ltd.").compact == "GENERALJOINT"
    # OFAC's SDN list writes it BM BANK JSC
    found = _best(eval_screener, name="BM BANK PUBLIC JOINT STOCK COMPANY", lists=("OFAC-SDN",))
    assert found == ("OFAC-SDN:17017", "name-normalised")
    # equal scores: the listed name closest to the query as written comes first
    assert _best(eval_screener, name="RASSVET OAO", schema=ORGANIZATION)[0] == (
        "OFAC-NON-SDN:20640"
    )
    assert _best(eval_screener, name="RASSVET LLC", schema=ORGANIZATION)[0] == "OFAC-SDN:46052"


@pytest.mark.parametrize(
    ("query", "uid", "said"),
    [
        ("SAD IMPRT EXuPORT COMPANY", "OFAC-SDN:15648", "IMPRT/IMPORT, EXUPORT/EXPORT"),
        ("Korea Heungjin Trading Copmanny", "JP-MOF:14-11", "'COPMANNY' read as a mistyped"),
        ("EXPORT IMPRT SAD", "OFAC-SDN:15648", "words reordered"),
    ],
)
def test_a_typo_in_each_word(
    eval_screener: EntityScreener, query: str, uid: str, said: str
) -> None:
    res = eval_screener.screen(
        EntityQuery(name=query, schema=ORGANIZATION, lists=(uid.split(":")[0],))
    )
    assert res.best is not None and res.best.entity.uid == uid, res.candidates[:2]
    assert res.best.rule == "name-word-typos" and said in res.best.reason
    assert MATCH_SCORE <= res.best.score < 99.0
    # a word one edit from no listed word, a short word changed, or a person: no reading
    for name, schema in (("SAD IMPRT EXUPORT ZQXJV", ORGANIZATION), ("SAB IMPRT EXUPORT",
                         ORGANIZATION), ("SAD IMPRT EXUPORT", PERSON)):  # fmt: skip
        res = eval_screener.screen(EntityQuery(name=name, schema=schema))
        assert all(m.rule != "name-word-typos" for m in res.candidates), name


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=30), st.data())
@settings(max_examples=300, deadline=None)
def test_spelling_index_finds_what_comparing_every_word_finds(
    word: str, data: st.DataObject
) -> None:
    vocab = data.draw(st.lists(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=5,
                                       max_size=14), max_size=30))  # fmt: skip
    # words one and two edits away: deleted, inserted, changed and swapped letters
    vocab += [word[:i] + word[i + 1 :] for i in range(len(word))][:3]
    vocab += [word + "E", "E" + word[1:] + "S", word[:-1] + "Q", word[1:2] + word[0:1] + word[2:]]
    index = _deletes_index(vocab)
    got = set(_one_edit_from(word, index))
    # words of 5-24 letters are corrected, to words of 5-24 letters
    want = {
        c for c in vocab
        if 5 <= len(c) <= 24 and 5 <= len(word) <= 24 and c != word
        and OSA.distance(word, c) <= (2 if min(len(c), len(word)) >= 9 else 1)
    }  # fmt: skip
    assert got == want


def test_kana_name_meets_a_listed_family_comma_given_name(eval_screener: EntityScreener) -> None:
    """MOF writes ワレリー・ゲラシモフ given name first, OFAC "GERASIMOV, Valery": the kana name
    meets the OFAC entry in reading order; Latin queries keep their own rules, and the
    reading-order form never lets a common given name carry a match."""

    def best(name: str) -> tuple[str | None, str | None]:
        return _best(eval_screener, name=name, schema=PERSON, lists=("OFAC-SDN",))

    assert best("ワレリー・ゲラシモフ") == ("OFAC-SDN:35176", "name-romanised-fuzzy")
    assert best("アナスタシア・イグナトヴァ") == ("OFAC-SDN:35312", "name-romanised")
    assert best("Valery Gerasimov") == ("OFAC-SDN:35176", "name-word-order")
    assert best("Gerasimov Valery") == ("OFAC-SDN:35176", "name-normalised")
    # ALEKSANDR KOKOREV is not ALEKSANDR OKULOV (same consonant outline given name first)
    assert best("アレクサンドル・ココレフ") == (None, None)


# -- fuzzy search: the filters lose nothing ---------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 60),
    st.sampled_from([(FUZZY_RATE, MAX_EDITS), (TRANSLIT_RATE, TRANSLIT_EDITS)]),
)
def test_edit_bands_are_the_lengths_a_match_can_have(length: int, rule: tuple[float, int]) -> None:
    rate, max_edits = rule
    allowed = {
        n: min(max_edits, int(max(n, length) * rate)) for n in range(1, length + max_edits + 2)
    }
    want = {n: k for n, k in allowed.items() if k > 0 and abs(n - length) <= k}
    got = {n: k for k, short, long in edit_bands(length, rate, max_edits)
           for n in range(short, long + 1)}  # fmt: skip
    assert got == want


_LETTERS = "AEIKMNORST"


@pytest.fixture(scope="module")
def word_screener() -> tuple[EntityScreener, list[str]]:
    """2,000 organisations named from ten letters: many names within a few edits of each
    other, so the gram and letter-count filters are tested where they are weakest."""
    rng = random.Random(5)
    names = sorted({"".join(rng.choice(_LETTERS) for _ in range(rng.randint(6, 22)))
                    for _ in range(2000)})  # fmt: skip
    entities = [
        Entity(list_id="UN-1718", entry_id=str(i), schema=ORGANIZATION,
               names=(EntityName(text=n),))
        for i, n in enumerate(names)
    ]  # fmt: skip
    return EntityScreener(entities), names


@st.composite
def _edited(draw: st.DrawFn, names: list[str]) -> str:
    """A listed name with up to four random edits (insert, delete, substitute, swap)."""
    text = list(draw(st.sampled_from(names)))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text) - 1))
        op = draw(st.sampled_from("idsw"))
        if op == "i":
            text.insert(at, draw(st.sampled_from(_LETTERS)))
        elif op == "d" and len(text) > 1:
            del text[at]
        elif op == "s":
            text[at] = draw(st.sampled_from(_LETTERS))
        elif op == "w" and at + 1 < len(text):
            text[at], text[at + 1] = text[at + 1], text[at]
    return "".join(text)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzzy_finds_exactly_what_comparing_every_name_finds(
    word_screener: tuple[EntityScreener, list[str]], data: st.DataObject
) -> None:
    screener, names = word_screener
    query = data.draw(_edited(names))
    qkey = entity_key(query)
    want: dict[str, set[str]] = {"name-fuzzy": set(), "name-romanised-fuzzy": set()}
    for n in names:
        limit = min(MAX_EDITS, int(max(len(n), len(query)) * FUZZY_RATE))
        if len(query) >= 8 and 0 < OSA.distance(query, n) <= limit:
            want["name-fuzzy"].add(n)
        # Korean-looking names are compared again on their romanisation skeletons
        nkey = entity_key(n)
        limit = min(MAX_EDITS, int(max(len(nkey.skel), len(qkey.skel)) * FUZZY_RATE))
        if (
            len(query) >= 8 and len(n) >= 8 and len(qkey.skel) >= 6 and qkey.korean and nkey.korean
            and 0 < OSA.distance(qkey.skel, nkey.skel) <= limit
        ):  # fmt: skip
            want["name-romanised-fuzzy"].add(n)
    got: dict[str, set[str]] = {"name-fuzzy": set(), "name-romanised-fuzzy": set()}

    def add(rows, score, rule, detail):  # type: ignore[no-untyped-def]
        got[rule].update(screener._names[r] for r in rows)

    screener._fuzzy(qkey, add)
    assert got == want
    # the index is grouped by entity type: an organisation query sees the same names, a
    # person query none of them (every name here is an organisation's)
    for schema, expected in ((ORGANIZATION, want), (PERSON, {r: set() for r in want})):
        got = {"name-fuzzy": set(), "name-romanised-fuzzy": set()}
        screener._fuzzy(qkey, add, schema)
        assert got == expected


# -- acceptance on the labelled sets ---------------------------------------------------------


def _cases(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("name", ["entity_eval_set.csv", "entity_eval_set_holdout.csv"])
def test_entity_precision_recall(eval_screener: EntityScreener, name: str) -> None:
    report = evaluate_entities(eval_screener, _cases(name))
    cats = report.by_category
    assert report.cases > 2500 and report.positives > 1500
    # precision / recall measured on 2026-12-07 (docs/benchmarks/sanctions_entities.md):
    # design 0.996 / 0.988, held-out 0.992 / 0.985
    assert report.precision >= 0.99, (report.precision, report.errors)
    assert report.recall >= 0.96, (report.recall, report.errors)
    for cat in ("imo_trap_ship", "imo_trap_company"):
        assert cats[cat].false_pos == 0, (cat, report.errors)
    for cat in ("exact", "alias", "legal_form", "word_order", "han", "company_imo", "passport",
                "hangul_to_latin"):  # fmt: skip
        assert cats[cat].false_neg == 0, (cat, report.errors)
    assert cats["kana_to_latin"].true_pos >= 0.6 * cats["kana_to_latin"].positives


# -- the CLI contract --------------------------------------------------------------------------


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "sanctions"
    monkeypatch.setenv("TRILINK_SANCTIONS_DIR", str(d))
    monkeypatch.setenv("COLUMNS", "200")
    return d


def _write_parties(path: Path) -> None:
    path.write_bytes(
        "\n".join(
            [
                "name,country,type,identifier",
                "Korea Ryonbong General Corp.,KP,company,",  # 1 legal form
                "ユン・ホジン,,person,",  # 2 katakana
                "Blue Harbour Trading,,organisation,1790183",  # 3 company IMO
                "Unknown Ship,,vessel,1790183",  # 4 a company IMO is no ship
                "JI SONG 8,,vessel,",  # 5 vessels go through the vessel screener
                "Toyota Motor Corporation,JP,company,",  # 6 not listed
                "a,b,c,d,e,f",  # 7 garbage
                "Kim Jong Un,KP,spaceship,",  # 8 unknown type: screened as any
            ]
        ).encode()
        + b"\n"
    )


def test_screen_entities_csv(tmp_path: Path, data_dir: Path) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write_parties(src)
    res = runner.invoke(app, ["sanctions", "screen", "--entities", "--csv", str(src),
                              "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["row", "matched", "list", "list_id", "type", "matched_name",
                             "listed_name", "score", "rule", "reason"]  # fmt: skip
    by = {int(r["row"]): r for r in rows}
    assert len(by) == 8
    assert by[1]["matched"] == "true" and by[1]["type"] == "Organization"
    assert by[2]["matched"] == "true" and by[2]["list"] == "JP-MOF"
    assert by[3]["matched"] == "true" and by[3]["rule"] == "identifier-exact"
    assert by[4]["matched"] == "false"
    assert by[5]["matched"] == "true" and by[5]["type"] == "Vessel"
    assert by[6]["matched"] == "false"
    assert by[7]["matched"] == "false" and "not screened" in by[7]["reason"]
    assert by[8]["matched"] == "true" and "spaceship" in by[8]["reason"]


def test_screen_entities_refuses_shift_jis(tmp_path: Path, data_dir: Path) -> None:
    src, out = tmp_path / "sj.csv", tmp_path / "out.csv"
    src.write_bytes("name,country,type,identifier\nユン・ホジン,,person,\n".encode("cp932"))
    res = runner.invoke(app, ["sanctions", "screen", "--entities", "--csv", str(src),
                              "--out", str(out)])  # fmt: skip
    assert res.exit_code != 0 and "Shift-JIS" in str(res.exception) and not out.exists()
    res = runner.invoke(app, ["sanctions", "screen", "--entities", "--csv", str(src),
                              "--out", str(out), "--encoding", "cp932"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "JP-MOF" in out.read_text("utf-8")


def test_screen_against_one_nations_lists(tmp_path: Path, data_dir: Path) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write_parties(src)
    res = runner.invoke(app, ["sanctions", "screen", "--entities", "--csv", str(src),
                              "--out", str(out), "--lists", "JP-MOF,JP-METI-EUL"])  # fmt: skip
    assert res.exit_code == 0, res.output
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    listed = {r["list"] for r in rows if r["matched"] == "true"}
    assert listed and listed <= {"JP-MOF", "JP-METI-EUL"}
    res = runner.invoke(app, ["sanctions", "screen", "--entities", "--name", "x",
                              "--lists", "KR-MOFA"])  # fmt: skip
    assert res.exit_code != 0 and "not in force" in str(res.exception)


def test_screen_one_entity_json(data_dir: Path) -> None:
    import json

    res = runner.invoke(app, ["sanctions", "screen", "--entities", "--name", "김영복",
                              "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert "matched" in data and data["query"]["name"] == "김영복"
    res = runner.invoke(app, ["sanctions", "screen", "--entities", "--name",
                              "Ocean Maritime Management Co", "--type", "company"])  # fmt: skip
    assert res.exit_code == 0 and "MATCH" in res.output and "name-normalised" in res.output


def test_publish_entity_hits_to_a_node(tmp_path: Path, data_dir: Path) -> None:
    from tests.conftest import running

    from trilink.node.service import NodeService

    root = tmp_path / "net"
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write_parties(src)
    with running(root, "KOR"):
        res = runner.invoke(app, ["sanctions", "screen", "--entities", "--csv", str(src),
                                  "--out", str(out), "--publish", "--dir", str(root),
                                  "--nation", "KOR"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "published 5 sanctions.hit reports" in res.output
    with NodeService.open_local(root, "KOR") as node:
        stored = node.store.reports(kind="sanctions.hit")
    payloads = [
        msgspec.convert(r.report.envelope.payload_obj(), SanctionsHitPayload) for r in stored
    ]
    assert len(payloads) == 5
    entity_hits = [p for p in payloads if p.entities]
    assert len(entity_hits) == 4 and all(p.source == "screening" for p in payloads)
    assert {p.entities[0].listed.list_id for p in entity_hits} >= {"JP-MOF"}
    assert all(p.lists for p in payloads)


# -- the companies behind the ships ------------------------------------------------------------


def test_vessels_link_to_their_companies(lists: dict[str, object]) -> None:
    from trilink.sanctions.io import parse_list_bytes

    uk = DATA / "uk_ofsi_conlist_sample_2025-04-14.xlsx"
    ls = ListSet([*lists.values(), parse_list_bytes(uk.read_bytes(), uk.name)])  # type: ignore[list-item]
    chon_ma_san = next(v for v in ls.vessels if v.imo == "8660313" and v.list_id == "OFAC-SDN")
    companies = {e.uid: (e.ids("imo_company"), how) for e, how in ls.companies_of(chon_ma_san)}
    assert companies["UN-CONSOLIDATED:KPe.061"][0] == ["5936312"]  # Korea Achim Shipping
    assert "JP-MOF:14-61" in companies  # the same company in the Japanese list
    # OMM's UK entry lists the ships it operates by IMO (8606173 = RYONG GUN BONG)
    ship = next(v for v in ls.vessels if v.imo == "8606173")
    linked = {e.uid: how for e, how in ls.companies_of(ship)}
    assert "ship IMO 8606173" in linked["UK-OFSI:13143"]
    # a company IMO is never taken for the ship's own IMO
    assert all(v.imo != "1790183" for v in ls.vessels)


def test_every_rule_is_explained_to_match_clients() -> None:
    """The /match API lists what each rule means (yente's features): a new rule needs its
    explanation there."""
    from trilink.sanctions.entity_screen import _RULE_RANK
    from trilink.sanctions.yente import FEATURES

    assert set(_RULE_RANK) <= set(FEATURES)
