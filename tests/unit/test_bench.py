"""The benchmark harness: data loading, bad input, retrieval and answer runs, A/B comparison, resume."""

from __future__ import annotations

import gzip
import itertools
import json
import math
from importlib import resources
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

from ragloop import providers
from ragloop.benchmarks.answers import RESULTS, SETTINGS, run_answers
from ragloop.benchmarks.datasets import chunks_by_doc, load_dataset
from ragloop.benchmarks.harness import make_variants, parse_variant, pick_variants, read_variant_file
from ragloop.benchmarks.retrieval import presets, run_retrieval
from ragloop.cli import main
from ragloop.errors import ConfigError, InputError
from ragloop.settings import Context
from tests.conftest import FACTS, FakeProvider, logprob_reply, reply

PNG = b"\x89PNG\r\n\x1a\n"


def squad(facts=FACTS, answer=None) -> dict:
    """One article per fact; one question per paragraph whose gold answer is the fact's first words."""
    return {
        "version": "1.1",
        "data": [
            {
                "title": title,
                "paragraphs": [
                    {
                        "context": text,
                        "qas": [
                            {
                                "id": f"q-{title}",
                                "question": f"What does the text say about {title.replace('_', ' ')}?",
                                "answers": [
                                    {"text": answer or text.split(" is ")[0].split(" was ")[0], "answer_start": 0}
                                ],
                            }
                        ],
                    }
                ],
            }
            for title, text in facts
        ],
    }


@pytest.fixture
def squad_file(tmp_path) -> Path:
    path = tmp_path / "facts.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(squad(answer="Paris"), fh)
    return path


# --- data -------------------------------------------------------------------------------
def test_squad_loader_on_real_squad_paragraphs():
    with resources.as_file(resources.files("ragloop.demo_corpus").joinpath("squad_demo.json")) as path:
        dataset = load_dataset(path)
    assert dataset.kind == "squad" and len(dataset.documents) == 132
    keys = {d.metadata["doc_key"] for d in dataset.documents}
    assert all(set(q.relevant) <= keys and q.answers for q in dataset.questions)
    q = next(q for q in dataset.questions if q.text == "In what country is Normandy located?")
    assert "France" in q.answers
    assert next(iter(q.relevant)) == "Normans#p0"
    assert len(dataset.sample(5, seed=3)) == 5
    assert dataset.sample(5, seed=3) == dataset.sample(5, seed=3)


def test_relevant_chunks_are_those_holding_the_answer(tmp_path):
    from langchain_core.documents import Document

    data = squad([("Long", "Alpha beta. " * 30 + "The answer is Zanzibar. " + "Gamma delta. " * 30)], answer="Zanzibar")
    (tmp_path / "long.json").write_text(json.dumps(data))
    dataset = load_dataset(tmp_path / "long.json")
    chunks = [
        Document(page_content=t, metadata={"id": f"Long#p0:{i}", "doc_key": "Long#p0"})
        for i, t in enumerate(["Alpha beta.", "The answer is Zanzibar.", "Gamma delta."])
    ]
    assert dataset.relevant_chunks(dataset.questions[0], chunks_by_doc(chunks)) == {"Long#p0:1": 1.0}


def test_beir_folder(tmp_path):
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text("\n".join(json.dumps({"_id": t, "title": t, "text": x}) for t, x in FACTS))
    (tmp_path / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "capital of Poland"}) + "\n")
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tWarsaw\t2\nq1\tRhine\t0\n")
    dataset = load_dataset(tmp_path)
    assert dataset.kind == "beir" and len(dataset.documents) == len(FACTS)
    assert dataset.questions[0].relevant == {"Warsaw": 2.0}
    with pytest.raises(InputError, match="no gold answers"):
        dataset.require_answers()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("data.csv", "a,b\n", "not a SQuAD .json/.json.gz file or a BEIR folder"),
        ("empty.json", "", "is empty"),
        ("broken.json", "{", "not valid JSON"),
        ("other.json", '{"rows": []}', "not SQuAD format"),
        (
            "noanswers.json",
            json.dumps(
                {
                    "data": [
                        {
                            "title": "T",
                            "paragraphs": [
                                {"context": "Some text.", "qas": [{"id": "1", "question": "Why?", "answers": []}]}
                            ],
                        }
                    ]
                }
            ),
            "no usable questions",
        ),
    ],
)
def test_bad_data_gives_one_clear_sentence(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(InputError, match=message):
        load_dataset(tmp_path / name)


def test_bad_data_and_configs_on_the_command_line(tmp_path, squad_file, capsys):
    (tmp_path / "data.csv").write_text("a,b\n")
    assert main(["bench", "retrieval", str(tmp_path / "data.csv")]) == 2
    assert "not a SQuAD" in capsys.readouterr().err
    assert main(["bench", "retrieval", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "ab.yaml").write_text("a: {top_n: 5}\nb: {nope: 1}\n")
    assert main(["bench", "answers", str(squad_file), "--config", str(tmp_path / "ab.yaml")]) == 2
    assert "Configuration 'b': Unknown setting 'nope'" in capsys.readouterr().err
    assert main(["bench", "answers", str(squad_file), "--variant", "x:top_n"]) == 2
    assert "takes name=value" in capsys.readouterr().err


def test_named_configurations_from_files_and_the_command_line(tmp_path):
    (tmp_path / "ab.toml").write_text('[small]\ntop_n = 3\n[big]\ntop_n = "10"\nmax_samples = 4\n')
    (tmp_path / "ab.json").write_text(json.dumps({"json": {"k": 20}}))
    named = read_variant_file(tmp_path / "ab.toml") + read_variant_file(tmp_path / "ab.json")
    named.append(parse_variant("cli:top_n=7,rerank_provider=none"))
    variants = make_variants(named, base={"top_n": 4, "seed": 9})
    assert [(v.name, v.context.top_n, v.context.seed) for v in variants] == [
        ("small", 3, 9),
        ("big", 10, 9),
        ("json", 4, 9),
        ("cli", 7, 9),
    ]
    assert variants[3].context.rerank_provider == "none"
    assert variants[0].config_hash != variants[1].config_hash
    with pytest.raises(ConfigError, match="given twice"):
        make_variants([("a", {}), ("a", {})], {})
    assert [name for name, _ in pick_variants(named, ["cli", "small"])] == ["small", "cli"]
    with pytest.raises(InputError, match="--only large: no configuration of that name .*small, big, json, cli"):
        pick_variants(named, ["large"])
    (tmp_path / "bad.yaml").write_text("a: [unclosed\n")
    with pytest.raises(InputError, match="does not parse"):
        read_variant_file(tmp_path / "bad.yaml")


def test_the_shipped_benchmark_configurations_are_valid_settings():
    """The proof's file loads, each configuration is a valid Context, and only the budget differs from the default."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "configs" / "adaptive.yaml"
    variants = make_variants(read_variant_file(path), base={})
    assert variants[0].name == "top5_n1" and len(variants) >= 5
    default = Context()
    budget = ("difficulty_estimator", "medium_", "hard_")
    for v in variants:
        assert all(name.startswith(budget) for name in v.overrides), v.name
    fixed = [v for v in variants if v.context.difficulty_estimator == "fixed"]
    assert {(v.context.medium_docs, v.context.medium_samples) for v in fixed} == {(5, 1), (5, 4), (10, 4), (10, 8)}
    assert next(v for v in variants if v.name == "adaptive").context == default


# --- runs on fake models ----------------------------------------------------------------
def test_retrieval_benchmark_reports_every_pipeline(tmp_path, squad_file, use_provider):
    use_provider({})
    variants = make_variants(presets(Context()), {})
    report = run_retrieval(squad_file, variants, questions=None, index_dir=tmp_path / "ix", out_dir=tmp_path / "out")
    assert list(report["metrics"]) == ["bm25", "dense", "hybrid", "hybrid+local-hybrid-score"]
    assert report["sample"]["questions"] == len(FACTS)
    assert report["dataset"]["chunks"] == len(FACTS)
    # each question names its own topic, so BM25 finds every source paragraph in the top 45
    assert report["metrics"]["bm25"]["recall@45"] == 1.0
    assert 0 < report["metrics"]["bm25"]["ndcg@10"] <= 1
    assert set(report["comparison"]["variants"]) == {"dense", "hybrid", "hybrid+local-hybrid-score"}
    assert report["latency_ms"]["hybrid"]["retrieve_ms"]["p50"] > 0
    assert report["environment"]["packages"]["langgraph"]
    assert len(report["recall_curve"]["bm25"]) == 45  # Recall@1..45
    for plot in report["plots"]:
        assert Path(plot).read_bytes().startswith(PNG)
    assert (
        json.loads((tmp_path / "out" / "report.json").read_text())["dataset"]["sha256"] == report["dataset"]["sha256"]
    )
    # the index is built once and reused by the next run
    index_files = list((tmp_path / "ix").iterdir())
    run_retrieval(squad_file, variants[:1], questions=3, index_dir=tmp_path / "ix")
    assert list((tmp_path / "ix").iterdir()) == index_files


class VariantProvider(FakeProvider):
    """Answers 'Paris' or 'London' by a per-variant pattern chosen with Context.seed.

    seed 0: always right; seed 1: always wrong; seed 2: right on every other question. The answer is
    the confident difficulty draft, which answers these easy questions (or the sampled one, when the
    graph grades and generates).
    """

    def __init__(self):
        super().__init__(
            {
                "grade": lambda n: reply("1: yes\n2: yes\n3: yes\n4: yes\n5: yes"),
                "rewrite": lambda n: reply("query"),
            }
        )
        self.generated = 0

    def chat_model(self, ctx, *, role, temperature, max_tokens, seed, model):
        if role not in ("difficulty", "generate"):
            return super().chat_model(
                ctx, role=role, temperature=temperature, max_tokens=max_tokens, seed=seed, model=model
            )

        def messages():
            for _ in itertools.count():
                self.generated += 1
                right = ctx.seed == 0 or (ctx.seed == 2 and self.generated % 2 == 1)
                text = "Paris" if right else "London"
                message = logprob_reply([(text, math.log(0.95))]) if role == "difficulty" else reply(f"{text} [1]")
                message.usage_metadata = {
                    "input_tokens": 200 + 100 * ctx.seed,
                    "output_tokens": 5,
                    "total_tokens": 205 + 100 * ctx.seed,
                }
                yield message

        return GenericFakeChatModel(messages=messages())


def test_ab_run_with_known_difference_and_interval(tmp_path, squad_file, monkeypatch):
    provider = VariantProvider()
    monkeypatch.setitem(providers.PROVIDERS, "local", provider)
    variants = make_variants([("right", {"seed": 0}), ("wrong", {"seed": 1}), ("half", {"seed": 2})], {})
    report = run_answers(squad_file, variants, questions=None, index_dir=tmp_path / "ix", out_dir=tmp_path / "out")
    n = len(FACTS)
    assert report["metrics"]["right"]["em"] == 1.0 and report["metrics"]["wrong"]["em"] == 0.0
    assert report["metrics"]["half"]["f1"] == 0.5
    wrong = report["comparison"]["variants"]["wrong"]
    assert wrong["questions"] == n
    assert (wrong["f1"]["diff"], wrong["f1"]["low"], wrong["f1"]["high"]) == (-1.0, -1.0, -1.0)
    assert wrong["f1"]["significant"]
    # every question costs 100 more input tokens per model call at seed 1
    assert wrong["tokens_in"]["diff"] > 0
    half = report["comparison"]["variants"]["half"]["f1"]
    assert half["diff"] == -0.5
    # a difference of 0 or 1 on each of 8 questions: the interval is about -0.5 +- 1.96 * 0.5 / sqrt(8)
    assert -0.95 <= half["low"] <= -0.7 and -0.3 <= half["high"] <= -0.05
    assert report["spend"]["right"]["difficulty"] == {"easy": n}
    assert len((tmp_path / "out" / RESULTS).read_text().splitlines()) == 3 * n
    assert {Path(p).name for p in report["plots"]} == {"f1_vs_tokens.png", "latency.png", "comparison.png"}


def test_interrupted_answers_run_resumes_where_it_stopped(tmp_path, squad_file, monkeypatch):
    provider = VariantProvider()
    monkeypatch.setitem(providers.PROVIDERS, "local", provider)
    variants = make_variants([("right", {"seed": 0})], {})
    out = tmp_path / "out"
    run_answers(squad_file, variants, questions=6, index_dir=tmp_path / "ix", out_dir=out)
    assert provider.generated == 6
    results = out / RESULTS
    lines = results.read_text().splitlines()
    results.write_text("\n".join(lines[:3]) + "\n" + lines[3][:40])  # killed while writing the 4th row
    report = run_answers(squad_file, variants, questions=6, index_dir=tmp_path / "ix", out_dir=out)
    assert provider.generated == 6 + 3
    assert report["sample"]["questions"] == 6 and report["metrics"]["right"]["em"] == 1.0
    # the cut-off row stays on a line of its own, not glued to the next one, and is skipped
    kept = results.read_text().splitlines()
    assert kept[3] == lines[3][:40]
    assert [json.loads(ln)["qid"] for ln in kept[:3] + kept[4:]] == [json.loads(ln)["qid"] for ln in lines]
    # the same name with other settings is refused, not mixed in
    with pytest.raises(InputError, match="other settings"):
        run_answers(
            squad_file, make_variants([("right", {"seed": 1})], {}), questions=6, index_dir=tmp_path / "ix", out_dir=out
        )
    # a default that changed since the rows were written is caught too (the rows' hash covers overrides only);
    # a setting added since then is accepted at its default
    settings = json.loads((out / SETTINGS).read_text())
    del settings["right"]["max_rewrites"]
    (out / SETTINGS).write_text(json.dumps(settings))
    run_answers(squad_file, variants, questions=6, index_dir=tmp_path / "ix", out_dir=out)
    default = Context().medium_docs
    settings["right"]["medium_docs"] = default + 1
    (out / SETTINGS).write_text(json.dumps(settings))
    with pytest.raises(InputError, match=f"medium_docs: {default + 1} -> {default}"):
        run_answers(squad_file, variants, questions=6, index_dir=tmp_path / "ix", out_dir=out)
    # and so is a prompt template that changed, and rows from before prompts were fingerprinted
    settings["right"]["medium_docs"] = default
    for recorded in ("0123456789ab", None):
        settings["right"]["prompts"] = recorded
        (out / SETTINGS).write_text(
            json.dumps({"right": {k: v for k, v in settings["right"].items() if v is not None}})
        )
        with pytest.raises(InputError, match="prompts: "):
            run_answers(squad_file, variants, questions=6, index_dir=tmp_path / "ix", out_dir=out)
    assert provider.generated == 6 + 3
    # --fresh starts over and keeps the old file
    run_answers(
        squad_file,
        make_variants([("right", {"seed": 1})], {}),
        questions=2,
        index_dir=tmp_path / "ix",
        out_dir=out,
        fresh=True,
    )
    assert len(list(out.glob(f"{RESULTS}.*.bak"))) == 1
    assert len(results.read_text().splitlines()) == 2


def test_bench_command_prints_tables_and_writes_the_report(tmp_path, squad_file, monkeypatch, capsys):
    monkeypatch.setitem(providers.PROVIDERS, "local", VariantProvider())
    code = main(
        [
            "bench",
            "answers",
            str(squad_file),
            "--questions",
            "4",
            "--variant",
            "a:seed=0",
            "--variant",
            "b:seed=1",
            "--index-dir",
            str(tmp_path / "ix"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "difference from a" in printed and "f1_vs_tokens.png" in printed
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["metrics"]["b"]["f1"] == 0.0


def test_runs_in_separate_folders_report_together_without_answering_again(tmp_path, squad_file, monkeypatch, capsys):
    provider = VariantProvider()
    monkeypatch.setitem(providers.PROVIDERS, "local", provider)
    common = {"index_dir": tmp_path / "ix"}
    run_answers(squad_file, make_variants([("right", {"seed": 0})], {}), questions=6, out_dir=tmp_path / "a", **common)
    run_answers(squad_file, make_variants([("wrong", {"seed": 1})], {}), questions=4, out_dir=tmp_path / "b", **common)
    answered, before = provider.generated, (tmp_path / "a" / "report.json").read_text()
    joined = ["bench", "answers", str(squad_file), "--from", str(tmp_path / "a"), "--from", str(tmp_path / "b")]
    assert main([*joined, "--only", "wrong", "--only", "right", "--out", str(tmp_path / "ab")]) == 0
    assert "difference from wrong" in capsys.readouterr().out
    report = json.loads((tmp_path / "ab" / "report.json").read_text())
    assert provider.generated == answered  # nothing answered again
    assert report["sample"]["questions"] == 4  # the questions both configurations answered
    assert report["comparison"]["variants"]["right"]["f1"]["diff"] == 1.0
    assert [(v["name"], Path(v["folder"]).name, v["settings"]["seed"]) for v in report["variants"]] == [
        ("wrong", "b", 1),
        ("right", "a", 0),
    ]
    assert (tmp_path / "a" / "report.json").read_text() == before
    # the same name run with other settings in two folders is refused, not mixed
    run_answers(squad_file, make_variants([("right", {"seed": 2})], {}), questions=2, out_dir=tmp_path / "c", **common)
    assert main([*joined, "--from", str(tmp_path / "c"), "--out", str(tmp_path / "abc")]) == 2
    assert "'right' was run with other settings" in capsys.readouterr().err.replace("\n", "")
    # a folder is never overwritten, and what only a run can use is named
    assert main([*joined, "--out", str(tmp_path / "a")]) == 2
    assert main([*joined, "--questions", "3", "--out", str(tmp_path / "x")]) == 2
    assert main([*joined, "--only", "nobody", "--out", str(tmp_path / "x")]) == 2
    assert main([*joined, "--from", str(tmp_path / "ix"), "--out", str(tmp_path / "x")]) == 2  # no results there
    assert main(["bench", "retrieval", *joined[2:], "--out", str(tmp_path / "x")]) == 2
    (tmp_path / "stopped").mkdir()
    (tmp_path / "stopped" / RESULTS).write_text("")  # a run stopped before its first answer
    assert (
        main(["bench", "answers", str(squad_file), "--from", str(tmp_path / "stopped"), "--out", str(tmp_path / "x")])
        == 2
    )
    assert "drop --questions" in capsys.readouterr().err.replace("\n", "")
    assert not (tmp_path / "x").exists()


def test_hardest_third_is_judged_by_the_first_real_estimator_and_paired_on_those_questions():
    from ragloop.benchmarks.answers import hardest_third

    def rows(f1s, scores, estimator):
        return [
            {"qid": f"q{i}", "em": 0.0, "f1": f, "tokens": 100, "score": s, "estimator": estimator}
            for i, (f, s) in enumerate(zip(f1s, scores, strict=True))
        ]

    fixed = rows([1, 1, 1, 1, 0, 0], [None] * 6, "fixed")
    adaptive = rows([1, 1, 1, 1, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.9, 0.8], "logprob")
    report = hardest_third({"fixed": fixed, "adaptive": adaptive}, seed=0)
    assert report["judged_by"] == "adaptive" and report["questions"] == 2
    assert report["metrics"]["fixed"]["f1"] == 0.0 and report["metrics"]["adaptive"]["f1"] == 1.0
    assert report["comparison"]["variants"]["adaptive"]["f1"]["diff"] == 1.0
    assert hardest_third({"fixed": fixed}, seed=0) is None


def test_adaptive_is_judged_against_the_fixed_configuration_of_best_f1():
    from ragloop.benchmarks.answers import against_best_fixed

    def rows(f1s, tokens, estimator):
        return [{"qid": f"q{i}", "f1": f, "tokens": tokens, "estimator": estimator} for i, f in enumerate(f1s)]

    cheap = rows([0, 0, 1, 0, 0, 0, 1, 0], 100, "fixed")
    best = rows([1, 1, 1, 0, 1, 1, 1, 0], 1000, "fixed")
    frugal = rows([1, 1, 1, 0, 1, 1, 0, 1], 500, "logprob")  # same F1 as best, half its tokens
    lavish = rows([1, 1, 1, 0, 1, 1, 0, 1], 700, "logprob")  # same F1, too many tokens
    weak = rows([0, 0, 1, 0, 0, 0, 1, 0], 100, "logprob")  # cheap, but best's F1 is out of reach
    report = against_best_fixed(
        {"cheap": cheap, "best": best, "frugal": frugal, "lavish": lavish, "weak": weak}, seed=0
    )
    assert report["best_fixed"] == "best" and report["best_tokens"] == 1000
    verdicts = report["adaptive"]
    assert verdicts["frugal"]["meets_target"] and verdicts["frugal"]["token_share"] == 0.5
    assert verdicts["lavish"]["reaches_f1"] and not verdicts["lavish"]["meets_target"]
    assert not verdicts["weak"]["reaches_f1"] and not verdicts["weak"]["meets_target"]
    assert against_best_fixed({"cheap": cheap, "best": best}, seed=0) is None


def test_every_configuration_is_scored_on_the_questions_each_estimator_put_at_each_level():
    from ragloop.benchmarks.answers import by_level

    levels = ["easy", "easy", "medium", "hard"]
    adaptive = [
        {"qid": f"q{i}", "f1": f, "tokens": t, "level": lv, "estimator": "logprob"}
        for i, (f, t, lv) in enumerate(zip([1.0, 0.5, 0.0, 0.0], [100, 300, 900, 2000], levels, strict=True))
    ]
    fixed = [
        {"qid": f"q{i}", "f1": f, "tokens": 1000, "level": "medium", "estimator": "fixed"}
        for i, f in enumerate([1.0, 1.0, 1.0, 0.0])
    ]
    report = by_level({"fixed": fixed, "adaptive": adaptive})
    assert list(report) == ["adaptive"]  # a fixed configuration puts every question at one level: no judge
    easy = report["adaptive"]["easy"]
    assert easy["questions"] == 2
    assert easy["f1"] == {"fixed": 1.0, "adaptive": 0.75} and easy["tokens"] == {"fixed": 1000, "adaptive": 200}
    assert report["adaptive"]["medium"]["f1"] == {"fixed": 1.0, "adaptive": 0.0}
    assert report["adaptive"]["hard"]["questions"] == 1


def test_a_long_answers_run_goes_question_by_question_so_a_prefix_can_be_reported(tmp_path, squad_file, monkeypatch):
    provider = VariantProvider()
    monkeypatch.setitem(providers.PROVIDERS, "local", provider)
    variants = make_variants([("a", {"seed": 0}), ("b", {"seed": 1})], {})
    out = tmp_path / "out"
    run_answers(squad_file, variants, questions=4, index_dir=tmp_path / "ix", out_dir=out)
    rows = [json.loads(line) for line in (out / RESULTS).read_text().splitlines()]
    assert [r["variant"] for r in rows] == ["a", "b"] * 4
    generated = provider.generated
    report = run_answers(squad_file, variants, questions=2, index_dir=tmp_path / "ix", out_dir=out)
    assert provider.generated == generated  # the first two questions were all answered already
    assert report["sample"]["questions"] == 2


def test_both_confidences_are_judged_against_correct_answers():
    from ragloop.benchmarks.answers import _calibration

    rows = [
        {"f1": f1, "confidence": c, "retrieval_confidence": rc}
        for f1, c, rc in [(1.0, 0.9, 0.2), (0.8, 0.8, 0.1), (0.0, 0.3, 0.9), (0.2, 0.1, 0.8)]
    ]
    assert _calibration(rows) == {
        "confidence_auroc": 1.0,
        "retrieval_auroc": 0.0,
        "retrieval_auroc_rows": 4,
        "correct_share": 0.5,
        "retrieval_fit": None,
    }
    # rows from a run before the reranker-score confidence was recorded
    assert (
        _calibration([{k: v for k, v in r.items() if k != "retrieval_confidence"} for r in rows])["retrieval_auroc"]
        is None
    )


def test_the_reranker_score_confidence_is_fitted_to_the_runs_answers(tmp_path, squad_file, monkeypatch, capsys):
    from ragloop.benchmarks.answers import MIN_FIT_ROWS, print_report, retrieval_fit

    # right answers where the first score stands out from the fifth, wrong ones where it does not
    rows = [
        {"f1": float(margin > 0.5), "top_score": 0.9, "margin": margin}
        for margin in [i / (MIN_FIT_ROWS - 1) for i in range(MIN_FIT_ROWS)]
    ]
    fit = retrieval_fit(rows)
    assert fit["retrieval_margin_weight"] > 1 and fit["rows"] == MIN_FIT_ROWS
    assert retrieval_fit(rows[:-1]) is None  # too few answers to fit
    assert retrieval_fit([{**r, "f1": 1.0} for r in rows]) is None  # all right: nothing to separate
    # every run records both signals on its rows, and prints the fit as settings to paste
    monkeypatch.setitem(providers.PROVIDERS, "local", VariantProvider())
    assert (
        main(
            [
                "bench",
                "answers",
                str(squad_file),
                "--questions",
                "4",
                "--index-dir",
                str(tmp_path / "ix"),
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    written = [json.loads(line) for line in (tmp_path / "out" / RESULTS).read_text().splitlines()]
    assert all(isinstance(r["top_score"], float) and isinstance(r["margin"], float) for r in written)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (name,) = report["spend"]
    report["spend"][name]["retrieval_fit"] = fit
    capsys.readouterr()
    print_report(report)
    assert (
        f"--set retrieval_top_weight={fit['retrieval_top_weight']} --set retrieval_margin_weight="
        f"{fit['retrieval_margin_weight']}"
    ) in capsys.readouterr().out.replace("\n", "")
