"""Authentication backends."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class ThrottledBackend(AxesStandaloneBackend):
    """django-axes' lock-out check for every log-in that comes from a request.

    Axes refuses calls without a request; those come only from code, never from a
    person at the login form (Django's login view and the admin's always pass one), so
    they are left to the next backend instead of failing.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
