"""`yuqing normalize`, `classify`, `train`, `analyze` (lazy imports: no web or crawler code)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from core.errors import UserError


@click.command(name="normalize")
def normalize() -> None:
    """Read text on standard input, print it normalized (simplified, clean)."""
    from analysis.text import normalize as _normalize

    click.echo(_normalize(sys.stdin.read()))


def _parse_line(line: str) -> tuple[Any, str, str]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(row, dict):
        raise ValueError("each line must be a JSON object with id, title, text")
    title, text = row.get("title", ""), row.get("text", "")
    if title is None:
        title = ""
    if not isinstance(title, str) or not isinstance(text, str):
        raise ValueError("`title` and `text` must be strings")
    if not (title.strip() or text.strip()):
        raise ValueError("`text` is missing or empty")
    return row.get("id"), title, text


@click.command(name="classify")
@click.option("--batch", default=256, show_default=True, help="Posts classified together.")
@click.option("--no-explain", is_flag=True, help="Leave out the explanation (faster).")
def classify(batch: int, no_explain: bool) -> None:
    """JSON Lines in ({"id","title","text"}), JSON Lines out (labels); no database needed."""
    from analysis.classifier import load_model, prepare

    model = load_model()
    out = sys.stdout
    pending: list[tuple[int, Any, Any]] = []  # (line number, id, prepared or error)

    def flush() -> None:
        ok = [(n, pid, p) for n, pid, p in pending if not isinstance(p, str)]
        results = iter(model.predict([p for _, _, p in ok], explain=not no_explain))
        for n, pid, p in pending:
            if isinstance(p, str):
                row: dict[str, Any] = {"id": pid, "line": n, "error": p}
            else:
                r = next(results)
                row = {"id": pid, **{k: v for k, v in r.items() if k != "topic_proba"}}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        pending.clear()

    for n, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            pending.append((n, None, "empty line"))
        else:
            try:
                pid, title, text = _parse_line(line)
                pending.append((n, pid, prepare(title, text)))  # type: ignore[arg-type]
            except ValueError as exc:
                pending.append((n, None, str(exc)))
        if len(pending) >= batch:
            flush()
    flush()
    out.flush()


def _fmt(value: float) -> str:
    return f"{value:.3f}"


def _print_scores(title: str, s: dict[str, Any]) -> None:
    click.echo(title)
    r = s["relevance"]
    click.echo(
        f"  relevance  P {_fmt(r['precision'])}  R {_fmt(r['recall'])}  F1 {_fmt(r['f1'])}"
        f"   (n={s['n']})"
    )
    if "sentiment" in s:
        click.echo(
            f"  sentiment  macro-F1 {_fmt(s['sentiment']['macro_f1'])}  "
            f"accuracy {_fmt(s['sentiment']['accuracy'])}   "
            f"(relevant posts, n={s['sentiment']['n']})"
        )
        click.echo(
            f"  topics     micro-F1 {_fmt(s['topics']['micro_f1'])}  "
            f"macro-F1 {_fmt(s['topics']['macro_f1'])}"
        )
        a = s["alert"]
        click.echo(
            f"  alert      P {_fmt(a['precision'])}  R {_fmt(a['recall'])}  "
            f"(gold {a['gold']}, predicted {a['predicted']})"
        )


def _print_confusion(title: str, matrix: list[list[int]]) -> None:
    from analysis.classifier import SENTIMENTS

    click.echo(f"  {title} (rows gold, columns predicted)")
    click.echo("    " + "".join(f"{c:>10}" for c in SENTIMENTS))
    for name, row in zip(SENTIMENTS, matrix, strict=True):
        click.echo(f"    {name:<9}" + "".join(f"{v:>10}" for v in row)[1:])


@click.command(name="train")
@click.option(
    "--data",
    "data",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Extra labelled JSON Lines file(s) (fields as in analysis/data/corpus).",
)
@click.option("--folds", default=5, show_default=True, help="Cross-validation folds (0: skip).")
@click.option(
    "--eval-messages",
    type=click.Path(path_type=Path),
    default=None,
    help="The shared real posts the evaluation labels point into.",
)
@click.option("--no-corrections", is_flag=True, help="Leave staff corrections out.")
def train(
    data: tuple[Path, ...], folds: int, eval_messages: Path | None, no_corrections: bool
) -> None:
    """Train the models on the corpus (+ staff corrections), cross-validate, evaluate, save."""
    from core.config import get_settings

    settings = get_settings()
    from analysis import training as T

    for path in data:
        if not path.is_file():
            raise UserError(f"--data {path}: no such file")
    corpus = T.read_jsonl_examples([*T.corpus_files(), *data])
    if not corpus:
        raise UserError("no training posts found in analysis/data/corpus/*.jsonl")
    corrections = [] if no_corrections else T.corrections_examples(settings)
    examples = corpus + corrections
    click.echo(
        f"training posts: {len(corpus)} from the corpus, {len(corrections)} staff corrections"
    )
    with click.progressbar(
        length=len(examples), label="normalizing and segmenting", file=sys.stderr
    ) as bar:
        T.prepare_all(examples, bar.update)
    meta: dict[str, Any] = {}
    if folds > 1:
        with click.progressbar(
            length=folds, label=f"{folds}-fold cross-validation", file=sys.stderr
        ) as bar:
            cv = T.cross_validate(corpus, folds=folds, progress=bar.update)
        _print_scores(f"cross-validation on the corpus ({folds} folds):", cv)
        meta["cross_validation"] = cv
        if corrections:
            with click.progressbar(
                length=folds, label="cross-validation with corrections", file=sys.stderr
            ) as bar:
                cv2 = T.cross_validate(examples, folds=folds, progress=bar.update)
            delta = cv2["relevance"]["f1"] - cv["relevance"]["f1"]
            dsent = cv2["sentiment"]["macro_f1"] - cv["sentiment"]["macro_f1"]
            click.echo(
                f"  with {len(corrections)} staff corrections: relevance F1 {delta:+.3f}, "
                f"sentiment macro-F1 {dsent:+.3f} (scored on corpus posts)"
            )
            meta["corrections_effect"] = {"relevance_f1": delta, "sentiment_macro_f1": dsent}
    with click.progressbar(
        length=T.FIT_STEPS, label="fitting the final model", file=sys.stderr
    ) as bar:
        model = T.train_and_save(
            examples, settings.models_dir, extra_meta=meta, progress=bar.update
        )
    evaluation = T.eval_examples(eval_messages)
    if evaluation is None:
        click.echo("real-post evaluation skipped: the shared messages file is absent")
    else:
        with click.progressbar(
            length=len(evaluation), label="evaluating on real posts", file=sys.stderr
        ) as bar:
            ev = T.evaluate_real(model, evaluation, progress=bar.update)
        _print_scores(f"evaluation on {len(evaluation)} labelled real posts:", ev)
        _print_confusion("sentiment confusion", ev["sentiment"]["confusion"])
        sn = ev["snownlp_sentiment"]
        click.echo(
            f"  SnowNLP baseline sentiment macro-F1 {_fmt(sn['macro_f1'])}  "
            f"accuracy {_fmt(sn['accuracy'])}  (score < {T.SNOWNLP_NEGATIVE_BELOW} "
            f"negative, > {T.SNOWNLP_POSITIVE_ABOVE} positive)"
        )
        _print_confusion("SnowNLP confusion", sn["confusion"])
        ag = ev.get("annotator_agreement")
        if ag:
            click.echo(
                f"  two annotators, blind, on {ag['n']} relevant posts: sentiment macro-F1 "
                f"{_fmt(ag['macro_f1'])}  kappa {_fmt(ag['kappa'])}  (the human ceiling; "
                f"{ag['adjudicated']} labels changed by adjudication)"
            )
        model.metadata["evaluation"] = ev
        from analysis.classifier import META_FILE

        path = settings.models_dir / model.version / META_FILE
        path.write_text(
            json.dumps(model.metadata, ensure_ascii=False, indent=2, default=float) + "\n",
            encoding="utf-8",
        )
    click.echo(f"saved model {model.version} in {settings.models_dir}")


@click.command(name="analyze")
@click.option("--batch-size", default=500, show_default=True)
def analyze(batch_size: int) -> None:
    """Analyse stored posts not yet analysed under the current model."""
    from analysis.service import analyze_pending

    count = analyze_pending(batch_size=batch_size, echo=True)
    click.echo(f"已分析 {count} 条 (analysed {count} posts)")
