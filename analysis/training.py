"""Training data, cross-validation, the real-post evaluation (with SnowNLP beside it), saving."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.classifier import (
    SENTIMENTS,
    Model,
    Prepared,
    build_features,
    linear_head,
    prepare,
    save_model,
    set_train_priors,
    to_matrix,
)
from analysis.taxonomy import load_taxonomy
from core.errors import UserError

DATA = Path(__file__).resolve().parent / "data"
CORPUS_DIR = DATA / "corpus"
EVAL_LABELS = DATA / "eval" / "messages_labels.jsonl"
# the relevant evaluation posts' sentiment, labelled twice blind, with the adjudicated final label
AGREEMENT = DATA / "eval" / "sentiment_agreement.jsonl"
# the shared real posts the evaluation labels point into (never trained on)
EVAL_MESSAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "posts" / "messages.jsonl"
# SnowNLP's score is P(positive) in 0..1; the baseline maps it to three classes with these cut-offs
SNOWNLP_NEGATIVE_BELOW = 0.3
SNOWNLP_POSITIVE_ABOVE = 0.7
# chosen by 5-fold cross-validation on the corpus (see README "Analysis and models")
PARAMS: dict[str, Any] = {
    "C_relevance": 4.0,
    "C_sentiment": 1.0,
    "C_topics": 8.0,
    "C_alert": 2.0,
    "char_ngrams": True,
    "lexicon": True,
    "scope": True,
    # sentiment reads words and both lexicons only: character n-grams and the scope features
    # learn the corpus' phrasing and topics, which do not carry over to real posts
    "sentiment_char_ngrams": False,
    "sentiment_scope": False,
    # NB-LR for sentiment: +0.03 macro-F1 over plain logistic regression when each writer's file
    # is held out in turn (leave-one-file-out on the corpus), the closest the corpus comes to
    # posts its writers never saw
    "sentiment_nb_scaled": True,
    # sentiment probabilities keep the corpus' class shares (relevance re-weights to equal
    # shares): leave-one-file-out macro-F1 0.822 against 0.815 with the re-weighting
    "sentiment_prior_reweight": False,
}

Progress = Callable[[int], None]


@dataclass
class Example:
    """One labelled training post; a None label is unknown (staff corrections may be partial)."""

    title: str
    text: str
    relevant: bool | None
    topics: list[str] | None
    sentiment: str | None
    alert: bool | None
    origin: str = "corpus"
    prepared: Prepared | None = field(default=None, repr=False)


def _check_row(row: Any, where: str, codes: set[str]) -> Example:
    if not isinstance(row, dict):
        raise UserError(f"{where}: not a JSON object")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise UserError(f"{where}: `text` must be a non-empty string")
    relevant = row.get("relevant")
    if not isinstance(relevant, bool):
        raise UserError(f"{where}: `relevant` must be true or false")
    sentiment = row.get("sentiment")
    if sentiment not in SENTIMENTS:
        raise UserError(f"{where}: `sentiment` must be one of {', '.join(SENTIMENTS)}")
    topics = row.get("topics", [])
    if not isinstance(topics, list) or any(t not in codes for t in topics):
        raise UserError(f"{where}: `topics` must be a list of codes from taxonomy.toml")
    if relevant and not topics:
        raise UserError(f"{where}: a relevant post needs at least one topic")
    alert = bool(row.get("alert", False))
    return Example(str(row.get("title") or ""), text, relevant, topics, sentiment, alert)


def read_jsonl_examples(paths: Iterable[Path]) -> list[Example]:
    """Labelled examples from JSON Lines files; a bad line stops with file and line number."""
    codes = set(load_taxonomy())
    out = []
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UserError(f"{path}: cannot read: {exc.strerror}") from exc
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
            out.append(_check_row(row, f"{path}:{n}", codes))
    return out


def corpus_files() -> list[Path]:
    """Every analysis/data/corpus/*.jsonl file."""
    return sorted(CORPUS_DIR.glob("*.jsonl"))


def corrections_examples(settings: Any = None) -> list[Example]:
    """Staff label corrections from the database (empty when there is no database yet)."""
    from sqlalchemy import inspect, select

    from analysis.models import LabelCorrection
    from core.db import get_engine, session_scope

    try:
        if not inspect(get_engine(settings)).has_table("label_corrections"):
            return []
        with session_scope(settings) as session:
            rows = session.scalars(select(LabelCorrection).order_by(LabelCorrection.id)).all()
            out = [
                Example(
                    r.title or "",
                    r.text or "",
                    r.relevant,
                    r.topics,
                    r.sentiment,
                    r.alert,
                    origin="correction",
                )
                for r in rows
                if (r.text or r.title)
            ]
            corrected = {r.post_id for r in rows if r.post_id is not None}
            out.extend(_dismissed_examples(session, corrected))
            return out
    except Exception:  # no usable database: train on the corpus alone
        return []


def _dismissed_examples(session: Any, corrected: set[int]) -> list[Example]:
    """Posts of dismissed alerts (false alarms): "not an alert", other labels unknown."""
    from sqlalchemy import inspect, text

    # read by table name: alerts sits above analysis in the import order
    if not inspect(session.get_bind()).has_table("alerts"):
        return []
    rows = session.execute(
        text(
            "SELECT DISTINCT p.id, p.title, p.raw_text FROM alerts al "
            "JOIN analyses an ON an.event_id = al.event_id JOIN posts p ON p.id = an.post_id "
            "WHERE al.state = 'dismissed' ORDER BY p.id"
        )
    ).all()
    return [
        Example(title or "", raw or "", None, None, None, False, origin="correction")
        for pid, title, raw in rows
        if pid not in corrected and (raw or title)
    ]


def fingerprint(examples: list[Example]) -> str:
    """A hash of the training examples and their labels."""
    h = hashlib.sha256()
    for e in examples:
        h.update(
            json.dumps(
                [e.title, e.text, e.relevant, e.topics, e.sentiment, e.alert], ensure_ascii=False
            ).encode()
        )
    return h.hexdigest()


def prepare_all(examples: list[Example], progress: Progress | None = None) -> None:
    """Normalize and segment every example once."""
    for e in examples:
        if e.prepared is None:
            e.prepared = prepare(e.title, e.text)
        if progress:
            progress(1)


# ------------------------------------------------------------------------------------------------
def fit(
    examples: list[Example], params: dict[str, Any] | None = None, progress: Progress | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Fit the shared feature step and the four heads; returns (pipelines, topic codes)."""
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import Pipeline

    params = {**PARAMS, **(params or {})}
    codes = list(load_taxonomy())
    prepare_all(examples)
    features = build_features(
        char_ngrams=params["char_ngrams"], lexicon=params["lexicon"], scope=params["scope"]
    )
    X = features.fit_transform(to_matrix([e.prepared for e in examples])).tocsr()
    tick = progress or (lambda n: None)
    tick(1)
    heads: dict[str, Any] = {}

    rel_idx = [i for i, e in enumerate(examples) if e.relevant is not None]
    y_rel = np.array([bool(examples[i].relevant) for i in rel_idx])
    heads["relevance"] = set_train_priors(
        linear_head(params["C_relevance"]).fit(X[rel_idx], y_rel), y_rel
    )
    tick(1)

    sentiment = fit_sentiment(examples, params)
    tick(1)

    t_idx = [i for i, e in enumerate(examples) if e.relevant and e.topics]
    Y = np.array([[c in (examples[i].topics or []) for c in codes] for i in t_idx], dtype=int)
    keep = Y.sum(axis=0) > 1
    if not keep.all():
        missing = [c for c, k in zip(codes, keep, strict=True) if not k]
        raise UserError(f"too few training posts for topic(s) {', '.join(missing)}")
    heads["topics"] = OneVsRestClassifier(linear_head(params["C_topics"], calibrated=False)).fit(
        X[t_idx], Y
    )
    tick(1)

    # alert-worthiness among relevant negative posts
    a_idx = [
        i
        for i, e in enumerate(examples)
        if e.alert is not None and e.relevant is not False and e.sentiment in (None, "negative")
    ]
    y_alert = np.array([bool(examples[i].alert) for i in a_idx])
    if 1 < y_alert.sum() < len(y_alert) - 1:
        heads["alert"] = linear_head(params["C_alert"]).fit(X[a_idx], y_alert)
    tick(1)
    pipelines = {name: Pipeline([("features", features), ("clf", h)]) for name, h in heads.items()}
    pipelines["sentiment"] = sentiment
    return pipelines, codes


def fit_sentiment(examples: list[Example], params: dict[str, Any] | None = None) -> Any:
    """Fit the sentiment pipeline (its own feature step and head) on the labelled examples."""
    from sklearn.pipeline import Pipeline

    params = {**PARAMS, **(params or {})}
    prepare_all(examples)
    # sentiment is learnt from every labelled post: attitudes read the same on and off topic
    labelled = [e for e in examples if e.sentiment in SENTIMENTS]
    y = np.array([e.sentiment for e in labelled])
    features = build_features(
        char_ngrams=params["sentiment_char_ngrams"],
        lexicon=True,
        scope=params["sentiment_scope"],
        domain=True,
    )
    X = features.fit_transform(to_matrix([e.prepared for e in labelled])).tocsr()
    head = linear_head(params["C_sentiment"], nb_scaled=params["sentiment_nb_scaled"]).fit(X, y)
    if params["sentiment_prior_reweight"]:
        set_train_priors(head, y)
    return Pipeline([("features", features), ("clf", head)])


FIT_STEPS = 5


# ------------------------------------------------------------------------------------------------
def scores(gold: list[Example], pred: list[dict[str, Any]], codes: list[str]) -> dict[str, Any]:
    """Relevance P/R/F1, sentiment macro-F1, topic micro/macro-F1 (last two: relevant posts)."""
    from sklearn.metrics import (
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    y = [bool(g.relevant) for g in gold]
    p = [bool(r["relevant"]) for r in pred]
    prec, rec, f1, _ = precision_recall_fscore_support(y, p, average="binary", zero_division=0)
    out: dict[str, Any] = {
        "n": len(gold),
        "relevance": {"precision": prec, "recall": rec, "f1": f1},
    }
    rel = [i for i, g in enumerate(gold) if g.relevant]
    if rel:
        ys = [gold[i].sentiment for i in rel]
        ps = [pred[i]["sentiment"] for i in rel]
        out["sentiment"] = {
            "macro_f1": f1_score(ys, ps, labels=list(SENTIMENTS), average="macro", zero_division=0),
            "accuracy": float(np.mean([a == b for a, b in zip(ys, ps, strict=True)])),
            "confusion": confusion_matrix(ys, ps, labels=list(SENTIMENTS)).tolist(),
            "n": len(rel),
        }
        Yt = np.array([[c in (gold[i].topics or []) for c in codes] for i in rel], dtype=int)
        Pt = np.array([[c in pred[i]["topics_all"] for c in codes] for i in rel], dtype=int)
        present = Yt.sum(axis=0) > 0
        out["topics"] = {
            "micro_f1": f1_score(Yt, Pt, average="micro", zero_division=0),
            "macro_f1": f1_score(Yt[:, present], Pt[:, present], average="macro", zero_division=0),
        }
        ya = [bool(gold[i].alert) for i in range(len(gold))]
        pa = [bool(r["alert"]) for r in pred]
        ap, ar, af, _ = precision_recall_fscore_support(ya, pa, average="binary", zero_division=0)
        out["alert"] = {
            "precision": ap,
            "recall": ar,
            "f1": af,
            "gold": int(sum(ya)),
            "predicted": int(sum(pa)),
        }
    return out


def predict_for_scoring(model: Model, examples: list[Example]) -> list[dict[str, Any]]:
    """Predictions plus each post's topics as if it were relevant (topics use gold relevance)."""
    from analysis.classifier import TOPIC_THRESHOLD

    preds = model.predict([e.prepared for e in examples], explain=False)
    for r in preds:
        tp = r["topic_proba"]
        chosen = [c for c, v in tp.items() if v >= TOPIC_THRESHOLD]
        r["topics_all"] = chosen or [max(tp, key=tp.get)]
    return preds


def cross_validate(
    examples: list[Example],
    *,
    folds: int = 5,
    params: dict[str, Any] | None = None,
    progress: Progress | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Stratified k-fold scores on the training examples (mean over folds)."""
    from sklearn.model_selection import StratifiedKFold

    from analysis.plans import load_plans

    prepare_all(examples)
    strat = [f"{e.relevant}-{e.sentiment}" for e in examples]
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    plans = load_plans()
    per_fold = []
    for train_idx, test_idx in skf.split(np.zeros(len(examples)), strat):
        train = [examples[i] for i in train_idx]
        test = [examples[i] for i in test_idx if examples[i].origin == "corpus"]
        pipelines, codes = fit(train, params)
        model = Model(pipelines=pipelines, metadata={}, topic_codes=codes, plans=plans)
        per_fold.append(scores(test, predict_for_scoring(model, test), codes))
        if progress:
            progress(1)
    return average_scores(per_fold)


def average_scores(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean of nested score dicts (confusion matrices summed)."""
    first = items[0]
    out: dict[str, Any] = {}
    for key, value in first.items():
        if isinstance(value, dict):
            out[key] = average_scores([it[key] for it in items])
        elif key in ("confusion",):
            out[key] = np.sum([it[key] for it in items], axis=0).tolist()
        elif key in ("n", "gold", "predicted"):
            out[key] = int(np.sum([it[key] for it in items]))
        else:
            out[key] = float(np.mean([it[key] for it in items]))
    return out


# ------------------------------------------------------------------------------------------------
def eval_examples(messages: Path | None = None) -> list[Example] | None:
    """The labelled real posts joined to their texts, or None when the shared file is absent."""
    messages = messages or EVAL_MESSAGES
    if not messages.is_file() or not EVAL_LABELS.is_file():
        return None
    labels = {}
    for line in EVAL_LABELS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            labels[(str(row["src"]), str(row["src_id"]))] = row
    found: dict[tuple[str, str], Example] = {}
    with messages.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            key = (str(row.get("src")), str(row.get("src_id")))
            lab = labels.get(key)
            if lab is not None and key not in found:
                found[key] = Example(
                    str(row.get("title") or ""),
                    str(row.get("text") or ""),
                    lab["relevant"],
                    lab["topics"],
                    lab["sentiment"],
                    bool(lab.get("alert", False)),
                    origin="eval",
                )
    return [found[k] for k in labels if k in found]


def annotator_agreement(path: Path | None = None) -> dict[str, Any] | None:
    """How far two annotators agreed on sentiment, read blind, before adjudication.

    The human ceiling the model's sentiment score should be read against; None when absent.
    """
    from sklearn.metrics import cohen_kappa_score, f1_score

    path = path or AGREEMENT
    if not path.is_file():
        return None
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    first = [r["first"] for r in rows]
    second = [r["second"] for r in rows]
    return {
        "n": len(rows),
        "macro_f1": float(
            f1_score(first, second, labels=list(SENTIMENTS), average="macro", zero_division=0)
        ),
        "kappa": float(cohen_kappa_score(first, second)),
        "accuracy": float(np.mean([a == b for a, b in zip(first, second, strict=True)])),
        "adjudicated": sum(r["first"] != r["final"] for r in rows),
    }


def snownlp_sentiment(text: str) -> str:
    """SnowNLP's sentiment mapped to three classes by the documented cut-offs."""
    from snownlp import SnowNLP

    score = SnowNLP(text).sentiments if text.strip() else 0.5
    if score < SNOWNLP_NEGATIVE_BELOW:
        return "negative"
    if score > SNOWNLP_POSITIVE_ABOVE:
        return "positive"
    return "neutral"


def evaluate_real(
    model: Model, examples: list[Example], progress: Progress | None = None
) -> dict[str, Any]:
    """Scores on the real posts, and SnowNLP's sentiment on the same relevant posts."""
    from sklearn.metrics import confusion_matrix, f1_score

    prepare_all(examples, progress)
    result = scores(examples, predict_for_scoring(model, examples), model.topic_codes)
    rel = [e for e in examples if e.relevant]
    gold = [e.sentiment for e in rel]
    snow = [snownlp_sentiment(e.prepared.full_text if e.prepared else e.text) for e in rel]
    result["snownlp_sentiment"] = {
        "macro_f1": f1_score(gold, snow, labels=list(SENTIMENTS), average="macro", zero_division=0),
        "accuracy": float(np.mean([a == b for a, b in zip(gold, snow, strict=True)])),
        "confusion": confusion_matrix(gold, snow, labels=list(SENTIMENTS)).tolist(),
        "n": len(rel),
    }
    agreement = annotator_agreement()
    if agreement is not None:
        result["annotator_agreement"] = agreement
    return result


def library_versions() -> dict[str, str]:
    """Versions of the libraries a saved model depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("scikit-learn", "numpy", "scipy", "jieba", "opencc", "joblib"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def train_and_save(
    examples: list[Example],
    models_dir: Path,
    *,
    extra_meta: dict[str, Any],
    progress: Progress | None = None,
) -> Model:
    """Fit on all examples and save a versioned model with its metadata; returns the model."""
    from analysis.plans import load_plans

    pipelines, codes = fit(examples, progress=progress)
    fp = fingerprint(examples)
    now = dt.datetime.now(dt.UTC)
    version = f"{now:%Y%m%d%H%M%S}-{fp[:8]}"
    meta = {
        "version": version,
        "trained_at": now.isoformat(timespec="seconds"),
        "corpus_fingerprint": fp,
        "examples": len(examples),
        "by_origin": {
            o: sum(e.origin == o for e in examples) for o in {e.origin for e in examples}
        },
        "params": PARAMS,
        "libraries": library_versions(),
        "heads": sorted(pipelines),
        **extra_meta,
    }
    model = Model(pipelines=pipelines, metadata=meta, topic_codes=codes, plans=load_plans())
    save_model(model, models_dir)
    return model
