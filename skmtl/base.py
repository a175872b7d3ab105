"""Helpers shared by skmtl estimators."""

import functools


def keep_state_on_error(fit):
    """Decorate ``fit`` so that a call that raises leaves the estimator as it was.

    Validation in scikit-learn sets ``n_features_in_`` before later checks
    can fail; restoring the attribute dictionary keeps a fitted estimator
    intact when a new ``fit`` is given bad data.
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        state = self.__dict__.copy()
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    return wrapper
