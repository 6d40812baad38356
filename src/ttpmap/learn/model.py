"""The sentence-level technique classifier: TF-IDF n-grams and a one-vs-rest linear SVM.

It follows the scikit-learn estimator contract so it can be evaluated and swapped; document-level
decisions (aggregation, abstention, evidence) live in ``ttpmap.extract.techniques``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from ttpmap.errors import ModelError

NONE = "none"  # the class of sentences that describe no technique


class TechniqueModel(ClassifierMixin, BaseEstimator):
    """Scores sentences against every technique (and ``"none"``).

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

    def fit(self, texts: Sequence[str], labels: Sequence[str], sample_weight=None) -> TechniqueModel:
        """Fit on sentences and their technique IDs (``"none"`` for negatives)."""
        texts, labels = list(texts), np.asarray(list(labels), dtype=object)
        if len(texts) != len(labels) or not texts:
            raise ModelError("need as many labels as texts, and at least one of each")
        if len(set(labels)) < 2:
            raise ModelError("need at least two classes to train a technique model")
        vectorizer = TfidfVectorizer(
            ngram_range=tuple(self.ngram_range),
            min_df=min(self.min_df, max(1, len(texts) // 10)),
            max_features=self.max_features,
            sublinear_tf=True,
            dtype=np.float32,
        )
        features = vectorizer.fit_transform(texts)
        svm = LinearSVC(C=self.C, random_state=self.random_state)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        svm.fit(features, labels, sample_weight=weights)
        coef = np.atleast_2d(svm.coef_)
        intercept = np.atleast_1d(svm.intercept_)
        if coef.shape[0] == 1:  # binary problem: sklearn keeps one row; expand to one per class
            coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
        # Tiny weights cost memory (classes x features) and change no decision: keep a sparse matrix.
        coef = np.where(np.abs(coef) >= self.prune, coef, 0.0)
        self.vectorizer_ = vectorizer
        self.coef_ = sparse.csr_matrix(coef.T.astype(np.float32))  # features x classes
        self.intercept_ = intercept.astype(np.float32)
        self.classes_ = np.asarray(svm.classes_, dtype=object)
        self.n_features_in_ = features.shape[1]
        return self

    def transform(self, texts: Sequence[str]):
        """TF-IDF features of ``texts``."""
        check_is_fitted(self, "coef_")
        return self.vectorizer_.transform(list(texts))

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Margins, shape (n_texts, n_classes), columns in ``classes_`` order."""
        features = self.transform(texts)
        scores = features @ self.coef_
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
