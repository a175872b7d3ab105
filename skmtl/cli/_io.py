"""Reading the CSV input and writing the outputs of the ``skmtl`` command line."""

import csv
import os
import re
import textwrap

import numpy as np

_TOP_DEFAULT = 10
# a text feature column with more distinct values is refused: an id or free text, not a category
_MAX_CATEGORIES = 50
# cells read as missing values by default (compared in lower case; --na-values replaces them)
_MISSING = frozenset({"", "na", "n/a", "nan", "-nan", "null", "none", "?", "#n/a", "<na>"})
MISSING_HELP = "empty cells and NA, N/A, NaN, -NaN, null, None, ?, #N/A, <NA> in any case"


def _missing_texts(texts):
    """The cell texts ``--na-values`` names, as the set compared in lower case (empty cells always)."""
    return frozenset({""} | {t.strip().lower() for t in texts.split(",")})


def _shown_texts(values):
    """The distinct cell texts of ``values`` read as missing, for a message."""
    return ", ".join(repr(v) if v else "empty" for v in sorted(set(values)))


# the library's advice names its parameters; the command's user knows its options
_OPTION_WORDS = (
    ("removal_ratio='auto'", "--ratio auto"),
    ("fit(X, y, X_val=..., y_val=...)", "--trusted FILE"),
    ("noise_kind='alike'", "--noise-kind alike"),
    ("class_prior", "--class-prior"),
    ("random_state", "--random-state"),
    ("validation rows", "trusted rows"),
    ("rows of X_val", "rows of the --trusted file"),
    ("rows of X belong", "rows belong"),
    ("the tasks of X are", "the tasks of the data file are"),
    (" (unknown_task='error' raises)", ""),
    (", those with a row of positive sample_weight,", ""),
    ("removal_ratio", "--ratio"),
)


def _in_option_words(text):
    """A library message with its parameter names replaced by the command's options."""
    for words, option in _OPTION_WORDS:
        text = text.replace(words, option)
    return text


class _InputError(Exception):
    """A problem with the user's input, reported as one line on stderr."""


# ----------------------------------------------------------------------------
# reading the data
# ----------------------------------------------------------------------------
def _parse_numbers(values, name, lines, what):
    """Float array from strings; a _InputError naming the first bad line."""
    out = np.empty(len(values))
    for i, v in enumerate(values):
        try:
            out[i] = float(v)
        except ValueError:
            raise _InputError(
                f"{what} {name!r} is not numeric: line {lines[i]} holds {v!r}. "
                "Encode it as numbers, or leave it out with --features."
            ) from None
        if not np.isfinite(out[i]):
            raise _InputError(
                f"{what} {name!r} holds {v!r} on line {lines[i]}; values must be finite."
            )
    return out


def _feature_matrix(column, features, lines, categories=None):
    """The feature columns as numbers: numeric ones as they are, text ones one
    hot (a 0/1 column ``name=value`` per value, sorted). A column whose values
    are mostly numbers is numeric, its other values errors (a typo is not a
    category). ``categories`` (``{name: values}`` of the text columns of
    another file, as returned) fixes a text column's values, so that a second
    file is encoded like the first; a value not among them is all zeros.
    Returns the matrix, its column names and the text columns' values."""
    blocks, names, found = [], [], {}
    for name in features:
        values = column[name]
        known = None if categories is None else categories.get(name)
        if known is None and sum(map(_is_number, values)) >= len(values) / 2:
            blocks.append(_parse_numbers(values, name, lines, "feature column")[:, None])
            names.append(name)
            continue
        if known is None:
            known = sorted(set(values))
            if len(known) > _MAX_CATEGORIES:
                raise _InputError(
                    f"feature column {name!r} is text with {len(known)} distinct values (line "
                    f"{lines[0]} holds {values[0]!r}), too many to encode one column per value "
                    f"(at most {_MAX_CATEGORIES}). Encode it as numbers, or leave it out with "
                    "--features."
                )
        found[name] = known
        blocks.append(np.array(values, dtype=object)[:, None] == np.array(known, dtype=object))
        names.extend(f"{name}={value}" for value in known)
    matrix = np.column_stack(blocks).astype(float) if blocks else np.empty((len(lines), 0))
    return matrix, names, found


def _a_task_per_row(tasks):
    """Whether ten rows or more each hold a task of their own: a feature, not task ids."""
    return len(tasks) >= 10 and len(np.unique(np.asarray(tasks).astype(str))) == len(tasks)


def _labels(values):
    """Integer labels where every value is written as one, else the strings
    (so that "01" and "1" stay two tasks)."""
    try:
        ints = np.array([int(v) for v in values], dtype=np.int64)
    except ValueError:
        return np.array(values, dtype=object)
    if any(str(i) != v for i, v in zip(ints, values)):
        return np.array(values, dtype=object)
    return ints


def _wrap(text):
    """``text`` in lines of at most 88 characters, the later ones indented."""
    return textwrap.fill(text, 88, subsequent_indent="  ", break_long_words=False,
                         break_on_hyphens=False)


def _rows(n):
    return f"{n} row{'' if n == 1 else 's'}"


def _lines_text(lines):
    """'line 7' or 'lines 2, 5, 9, ...' (at most three numbers)."""
    shown = ", ".join(map(str, lines[:3])) + (", ..." if len(lines) > 3 else "")
    return f"line{'s' if len(lines) > 1 else ''} {shown}"


def _missing_rows(column, used, lines, dropna, features=(), missing_texts=_MISSING):
    """Positions of the rows to drop for missing values (an _InputError
    listing them by column without ``dropna``, and pointing to ``--impute``
    where some of ``features`` miss values), and by column their count and
    the cell texts read as missing."""
    missing = {}
    for name in used:
        rows = [i for i, v in enumerate(column[name]) if v.lower() in missing_texts]
        if rows:
            missing[name] = rows
    if not missing:
        return [], {}
    drop = sorted(set().union(*missing.values()))
    found = {name: (len(rows), _shown_texts(column[name][i] for i in rows)) for name, rows in missing.items()}
    if not dropna or len(drop) == len(lines):
        empty = [name for name, rows in missing.items() if len(rows) == len(lines)]
        if empty:
            raise _InputError(f"column {empty[0]!r} is missing on every row (a trailing comma on "
                              "each line makes an empty column); leave it out with --features.")
        listing = "; ".join(
            f"{name!r}: {n} read as missing from {texts} ({_lines_text([lines[i] for i in missing[name]])})"
            for name, (n, texts) in found.items()
        )
        impute = ", pass --impute to fill those of the features" if set(missing) & set(features) else ""
        fix = "fill them in" + impute + (
            "" if dropna else f", or pass --dropna to drop {_rows(len(drop))}")
        texts = ("; if such a text is a real value, say which mean missing with --na-values"
                 if any(shown != "empty" for _, shown in found.values()) else "")
        every = "every row has " if dropna else ""
        raise _InputError(f"{every}missing values in {listing}; {fix}{texts}.")
    return drop, found


def _impute_features(column, features, lines, fills=None, missing_texts=_MISSING):
    """Fill the missing cells of the feature columns in place: a column of
    numbers with the median of its values, a text column with its most
    frequent value (``fills``: ``{name: value}`` of another file, as returned,
    so that a second file is filled like the first: returned for every feature
    column, gaps or not). Returns the values used and ``{name: (count filled,
    value as shown, how it was chosen, the cell texts read as missing)}``."""
    fills, filled = dict(fills or {}), {}
    for name in features:
        values = column[name]
        gaps = [v.lower() in missing_texts for v in values]
        how = "the data file's value"
        if name not in fills:
            present = [i for i, gap in enumerate(gaps) if not gap]
            if not present:
                raise _InputError(f"feature column {name!r} is missing on every row; leave it out "
                                  "with --features.")
            cells = [values[i] for i in present]
            if sum(map(_is_number, cells)) >= len(cells) / 2:
                numbers = _parse_numbers(cells, name, [lines[i] for i in present], "feature column")
                fills[name], how = repr(float(np.median(numbers))), "the median"
            else:
                fills[name] = max(sorted(set(cells)), key=cells.count)
                how = "the most frequent value"
        if any(gaps):
            texts = _shown_texts(v for v, gap in zip(values, gaps) if gap)
            column[name] = [fills[name] if gap else v for v, gap in zip(values, gaps)]
            shown = f"{float(fills[name]):.4g}" if _is_number(fills[name]) else repr(fills[name])
            filled[name] = (sum(gaps), shown, how, texts)
    return fills, filled


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_scale(values, what, option):
    """:func:`~skmtl.utils.check_magnitude` of one column of the file,
    before any scaling, as an _InputError that says how to leave it out."""
    from ..utils import check_magnitude

    try:
        check_magnitude(values, what, f"change its unit in the file (scale it by a power of "
                        f"ten), or {option}")
    except ValueError as exc:
        raise _InputError(str(exc)) from None


def _parse_target(values, name, lines):
    """Numbers (int64 where all are integers) or, when no value is a number,
    the labels as written; text among numbers is an error."""
    text = [i for i, v in enumerate(values) if not _is_number(v)]
    if len(text) == len(values):
        return np.array(values, dtype=object)
    if text:
        raise _InputError(
            f"target {name!r} holds text among its numbers: line {lines[text[0]]} holds "
            f"{values[text[0]]!r}. Fix the value, or mark it missing (empty or NA) and "
            "pass --dropna."
        )
    y = _parse_numbers(values, name, lines, "target")
    # integers print as written; beyond 2**53 a float no longer holds every integer
    exact = np.all(y == np.round(y)) and np.abs(y).max() < 2.0**53
    return y.astype(np.int64) if exact else y


def _unnamed(name):
    """Whether a column has no name: the index a spreadsheet or ``DataFrame.to_csv``
    writes first (``""``, or ``"Unnamed: 0"`` once read by pandas), or the
    empty column a comma at the end of every line makes."""
    return name == "" or re.fullmatch(r"Unnamed: \d+", name) is not None


def _numbers_the_rows(values):
    """Whether a column counts the rows in file order (R's ``rownames``, a
    pandas index written out): consecutive integers, ten or more."""
    if len(values) < 10 or not all(v.lstrip("-").isdigit() for v in values):
        return False
    numbers = np.array([int(v) for v in values])
    return bool(np.all(np.diff(numbers) == 1))


def _read_csv(path, task_col, target, features=None, dropna=False, categories=None,
              impute=False, fills=None, left_out=None, missing_texts=_MISSING):
    """Read a CSV file with a header into the skmtl layout.

    Returns a dict with ``X`` (features then the task column last; text
    features one hot, as :func:`_feature_matrix` says, ``categories``
    passed to it), ``y``, ``features`` (the feature columns of the file),
    ``columns`` (those of ``X`` but the task column), ``categories`` (the
    values of each text feature),
    ``rows`` (each row's position among the file's data rows),
    ``dropped`` (missing values by column of the rows dropped by ``dropna``),
    ``n_dropped`` (how many rows that is), ``row_ids`` (columns left out of
    the default features because they number the rows, or those of
    ``left_out`` that the file has), with ``impute`` ``fills`` and
    ``imputed`` (as :func:`_impute_features` returns them, ``fills`` passed to
    it; without ``impute`` missing features are dropped or refused as missing
    targets and tasks are), ``header_text``
    and ``texts`` (the header and each data row as written in the file,
    without the line ending).
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            source = fh.readlines()
        reader = csv.reader(source)
        records, start = [], 0  # (last line number, fields, text) of each record
        for row in reader:
            # a quoted field may span lines: a record's text is all the lines it read
            text = "".join(source[start:reader.line_num]).rstrip("\r\n")
            start = reader.line_num
            records.append((reader.line_num, row, text))
    except UnicodeDecodeError as exc:
        raise _InputError(f"cannot read {path}: it is not UTF-8 text ({exc}); save it as CSV in "
                          "UTF-8 (a spreadsheet's 'CSV UTF-8') and run again.") from None
    except (OSError, csv.Error) as exc:
        raise _InputError(f"cannot read {path}: {exc}") from None
    _, header, header_text = records.pop(0) if records else (None, None, None)
    records = [r for r in records if any(f.strip() for f in r[1])]
    if not header or not any(h.strip() for h in header):
        raise _InputError(
            f"{path} is empty: it needs a header line with the column names, then "
            "one line per sample."
        )
    if not records:
        raise _InputError(f"{path} has a header but no data rows.")
    if len(header) == 1 and (sep := next((c for c in ";\t|" if c in header[0]), None)):
        raise _InputError(
            f"the header of {path} is one column, {header[0]!r}, with {sep!r} between the names: "
            "the command reads comma-separated values; save the file as CSV with commas (and "
            "'.' as the decimal point).")
    header = [h.strip() for h in header]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise _InputError(
            f"the header of {path} names {', '.join(map(repr, repeated))} more than once; "
            "column names must be unique."
        )
    for line, row, _ in records:
        if len(row) != len(header):
            raise _InputError(
                f"line {line} of {path} has {len(row)} fields but the header has "
                f"{len(header)}."
            )
    for name, option in ((task_col, "--task-col"), (target, "--target")):
        if name not in header:
            raise _InputError(
                f"column {name!r} ({option}) is not in {path}; its columns are: "
                f"{', '.join(header)}."
            )
    if task_col == target:
        raise _InputError("--task-col and --target name the same column.")
    row_ids = []
    if features is None:
        features = [h for h in header if h not in (task_col, target)]
        row_ids = [h for h in features if h in left_out] if left_out is not None else [
            h for i, h in enumerate(header) if h in features
            and (_unnamed(h) or _numbers_the_rows([r[1][i].strip() for r in records]))]
        features = [h for h in features if h not in row_ids]
    else:
        features = [f.strip() for f in features.split(",") if f.strip()]
        unknown = [f for f in features if f not in header]
        if unknown:
            raise _InputError(
                f"--features names columns not in {path}: {', '.join(unknown)}; its "
                f"columns are: {', '.join(header)}."
            )
        both = [f for f in features if f in (task_col, target)]
        if both:
            raise _InputError(
                f"--features names {', '.join(repr(f) for f in both)}, the "
                + ("--task-col" if both == [task_col] else "--target" if both == [target]
                   else "--task-col and --target")
                + " column; leave it out of --features."
            )
    lines, rows, texts = zip(*records)
    column = {h: [row[i].strip() for row in rows] for i, h in enumerate(header)}
    used = ([] if impute else features) + [task_col, target]
    drop, dropped = _missing_rows(column, used, lines, dropna, features=features,
                                  missing_texts=missing_texts)
    keep = np.setdiff1d(np.arange(len(lines)), drop)
    lines = [lines[i] for i in keep]
    column = {h: [values[i] for i in keep] for h, values in column.items()}
    fills, imputed = (_impute_features(column, features, lines, fills, missing_texts) if impute
                      else ({}, {}))
    feats, columns, categories = _feature_matrix(column, features, lines, categories)
    tasks = _labels(column[task_col])
    if _a_task_per_row(tasks):
        raise _InputError(
            f"--task-col {task_col} holds a different value on each of the {len(tasks)} rows, "
            "so every row would be a task of its own; name the column that holds the task "
            f"ids. The columns of {path}: {', '.join(header)}."
        )
    y = _parse_target(column[target], target, lines)
    for name, values in zip(columns, feats.T):
        _check_scale(values, f"feature column {name!r}", "leave it out with --features")
    if y.dtype != object:
        _check_scale(y, f"target {target!r}", "choose another --target")
    # a float column would merge integer task ids beyond 2**53
    exact = tasks.dtype == object or np.abs(tasks).max() >= 2**53
    X = np.column_stack([feats.astype(object), tasks.astype(object)]) if exact else (
        np.column_stack([feats, tasks])
    )
    return {"X": X, "y": y, "tasks": tasks, "rows": keep, "dropped": dropped, "features": features,
            "row_ids": row_ids,
            "columns": columns, "categories": categories, "fills": fills, "imputed": imputed,
            "n_dropped": len(drop), "header_text": header_text, "texts": [texts[i] for i in keep]}


def _plan_outputs(folder, names, data_path):
    """Paths of the output files ``names`` in ``folder`` (created now, so that a
    bad folder fails before any work); an error if one would replace an input
    (``data_path``: a path, several, or None)."""
    if folder is None:
        return {}
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise _InputError(f"cannot create the output folder {folder}: {exc.strerror}.") from None
    paths = {name: os.path.join(folder, name) for name in names}
    inputs = [data_path] if isinstance(data_path, str) else data_path or []
    for path in paths.values():
        for given in inputs:
            if os.path.exists(path) and os.path.samefile(path, given):
                raise _InputError(
                    f"--out {folder} would write {os.path.basename(path)} over the input file "
                    f"{given}; choose another --out folder."
                )
    return paths


def _write_atomic(path, write, mode="w"):
    """Call ``write(file)`` on a temporary file next to ``path``, then move it
    to ``path``: an interrupted run leaves the old file (or none), never half."""
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")
    text = {} if "b" in mode else {"newline": "", "encoding": "utf-8"}
    try:
        with open(tmp, mode.replace("w", "x"), **text) as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _write_csv(path, header, rows):
    def write(fh):
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)

    _write_atomic(path, write)


def _write_lines(path, lines):
    _write_atomic(path, lambda fh: fh.writelines(line + "\n" for line in lines))
