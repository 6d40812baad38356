"""The sentence-level text classifier: TF-IDF n-grams and a one-vs-rest linear SVM.

It follows the scikit-learn estimator contract so it can be evaluated and swapped, and it converts to
and from plain arrays (``to_arrays`` / ``from_arrays``) so it is stored as data, never pickled.
Document-level decisions (aggregation, abstention, evidence) live in ``ttpmap.extract.techniques``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from ttpmap.errors import ModelError

NONE = "none"  # the class of sentences that describe no technique


class TechniqueModel(ClassifierMixin, BaseEstimator):
    """Scores sentences against every class (technique IDs and ``"none"``, or sentence roles).

    ``decision_function`` gives margins (argmax = predicted class, 0 = the SVM's own boundary);
    ``predict_proba`` squashes them with a softmax of temperature ``temperature``.
    """

    def __init__(
        self,
        *,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int = 2,
        max_features: int | None = 300_000,
        C: float = 0.3,
        prune: float = 1e-3,
        temperature: float = 0.5,
        random_state: int = 0,
    ) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.C = C
        self.prune = prune
        self.temperature = temperature
        self.random_state = random_state

    def fit(
        self, texts: Sequence[str], labels: Sequence[str], sample_weight: Sequence[float] | None = None
    ) -> TechniqueModel:
        """Fit on sentences and their labels (``"none"`` for negatives)."""
        texts, y = list(texts), np.asarray(list(labels), dtype=object)
        if len(texts) != len(y) or not texts:
            raise ModelError("need as many labels as texts, and at least one of each")
        if len(set(y)) < 2:
            raise ModelError("need at least two classes to train a model")
        vectorizer = TfidfVectorizer(
            ngram_range=tuple(self.ngram_range),
            min_df=min(self.min_df, max(1, len(texts) // 10)),
            max_features=self.max_features,
            sublinear_tf=True,
            dtype=np.float32,
        )
        vectorizer.fit(texts)
        terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        idf = vectorizer.idf_.astype(np.float32)
        self._set_features(terms, idf)
        features = self.transform(texts)
        svm = LinearSVC(C=self.C, random_state=self.random_state)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        svm.fit(features, y, sample_weight=weights)
        coef = np.atleast_2d(svm.coef_)
        intercept = np.atleast_1d(svm.intercept_)
        if coef.shape[0] == 1:  # binary problem: sklearn keeps one row; expand to one per class
            coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
        # Tiny weights cost memory (classes x features) and change no decision: keep a sparse matrix.
        coef = np.where(np.abs(coef) >= self.prune, coef, 0.0)
        self.coef_ = sparse.csr_matrix(coef.T.astype(np.float32))  # features x classes
        self.intercept_ = intercept.astype(np.float32)
        self.classes_ = np.asarray(svm.classes_, dtype=object)
        return self

    def _set_features(self, terms: list[str], idf: np.ndarray) -> None:
        # Counting with a fixed vocabulary needs no fitted state beyond the terms themselves.
        self.counter_ = CountVectorizer(
            ngram_range=tuple(self.ngram_range), vocabulary={t: i for i, t in enumerate(terms)}
        )
        self.terms_ = terms
        self.idf_ = idf
        self.n_features_in_ = len(terms)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF features of ``texts`` (sublinear term frequency, L2-normalised rows)."""
        check_is_fitted(self, "idf_")
        counts = self.counter_.transform(list(texts)).astype(np.float32)
        counts.data = 1.0 + np.log(counts.data)
        return normalize(counts.multiply(self.idf_).tocsr(), copy=False)

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Margins, shape (n_texts, n_classes), columns in ``classes_`` order."""
        check_is_fitted(self, "coef_")
        scores = self.transform(texts) @ self.coef_
        scores = scores.toarray() if sparse.issparse(scores) else np.asarray(scores)
        return scores + self.intercept_

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Softmax of the margins; rows sum to one."""
        scores = self.decision_function(texts) / self.temperature
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The best class of each text."""
        return self.classes_[self.decision_function(texts).argmax(axis=1)]

    # ---- stored as data ------------------------------------------------------------------------

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The fitted state as numeric arrays plus JSON-able metadata (terms, classes, parameters)."""
        check_is_fitted(self, "coef_")
        coef = self.coef_.tocsr()
        arrays = {
            "idf": self.idf_,
            "coef_data": coef.data.astype(np.float32),
            "coef_indices": coef.indices.astype(np.int32),
            "coef_indptr": coef.indptr.astype(np.int64),
            "intercept": self.intercept_,
        }
        meta = {
            "params": {**self.get_params(), "ngram_range": list(self.ngram_range)},
            "terms": self.terms_,
            "classes": [str(c) for c in self.classes_],
        }
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> TechniqueModel:
        """Rebuild a fitted model from ``to_arrays`` output; inconsistent data raises ModelError."""
        try:
            params = dict(meta["params"])
            params["ngram_range"] = tuple(int(n) for n in params["ngram_range"])
            model = cls(**params)
            terms = [str(t) for t in meta["terms"]]
            classes = np.asarray([str(c) for c in meta["classes"]], dtype=object)
            idf = np.asarray(arrays["idf"], dtype=np.float32)
            coef = sparse.csr_matrix(
                (
                    np.asarray(arrays["coef_data"], dtype=np.float32),
                    np.asarray(arrays["coef_indices"], dtype=np.int32),
                    np.asarray(arrays["coef_indptr"], dtype=np.int64),
                ),
                shape=(len(terms), len(classes)),
            )
            coef.check_format(full_check=True)
            intercept = np.asarray(arrays["intercept"], dtype=np.float32)
            if idf.shape != (len(terms),) or intercept.shape != (len(classes),) or len(classes) < 2:
                raise ValueError("array shapes do not match the vocabulary and classes")
            if not (np.all(np.isfinite(idf)) and np.all(np.isfinite(coef.data))):
                raise ValueError("non-finite weights")
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelError(f"inconsistent model data ({exc})") from exc
        model._set_features(terms, idf)
        model.coef_, model.intercept_, model.classes_ = coef, intercept, classes
        return model
