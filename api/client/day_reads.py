"""The exam day's reads of the centre's HTTP service: sessions, a tablet's assignment, exams,
a room's gate, and the identification of an ID card at check-in.

Why it exists: every machine of the day reads the same few documents (docs/http.md, "The exam
day"); they are read here, through ``CentreClient``'s one request loop (retries, problems), so a
tablet and a test read an assignment the same way.  The documents come back as the service
sends them (JSON objects); a machine picks the members it needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.client.answer import json_object, member
from api.client.centre_client import CentreClient
from api.client.retry import RetryPolicy


class DayReads:
    """The exam-day reads of one client (its token decides what it may read)."""

    def __init__(self, client: CentreClient) -> None:
        self.client = client

    def _get(self, path: str, retry: RetryPolicy | None = None) -> Mapping[str, Any]:
        return json_object(self.client.request("GET", path, retry=retry))

    def sessions(self) -> list[Mapping[str, Any]]:
        """Every session of the day (``SessionView`` documents).

        Raises:
            RefusedError, UnavailableError: as ``CentreClient.request``.
        """
        response = self.client.request("GET", "/day/sessions")
        sessions: list[Mapping[str, Any]] = member(
            response, json_object(response), "sessions", list
        )
        return sessions

    def session(self, session: str) -> Mapping[str, Any]:
        """One session: its phase, bookings, check-ins, roster, manifest and exams.

        Raises:
            RefusedError, UnavailableError: as ``CentreClient.request``.
        """
        return self._get(f"/day/sessions/{session}")

    def assignment(self, session: str, retry: RetryPolicy | None = None) -> Mapping[str, Any]:
        """The calling tablet's crew in ``session``: examiner, vehicle, unit, route, and its
        candidates with their exam ids.

        Raises:
            RefusedError: 409 ``step-out-of-order`` before ``allocation.made``; 403
                ``not-on-duty`` for a tablet of no crew of the session.
            UnavailableError: as ``CentreClient.request``.
        """
        return self._get(f"/day/sessions/{session}/assignment", retry)

    def exam(self, exam: str) -> Mapping[str, Any]:
        """One exam: its crew, phase, chunks, void reason and result.

        Raises:
            RefusedError, UnavailableError: as ``CentreClient.request``.
        """
        return self._get(f"/day/exams/{exam}")

    def gate(self, room: str) -> Mapping[str, Any]:
        """The room's latest gate decision: ``index``, ``ts``, ``allowed``, ``exam``.

        Raises:
            RefusedError, UnavailableError: as ``CentreClient.request``.
        """
        return self._get(f"/day/rooms/{room}/gate")

    def identify(self, session: str, id_number: str) -> tuple[str, str]:
        """The booked candidate whose ID card the terminal read: (pseudonymous id, keyed hash).

        The number travels to the centre only (it holds the personal data); what the terminal
        signs carries the two values returned.

        Raises:
            RefusedError: 422 ``identity-refused`` (not a valid GB 11643-1999 number, or its
                holder is not booked for ``session``; ``code`` says which).
            UnavailableError: as ``CentreClient.request``.
        """
        response = self.client.request(
            "POST", f"/day/sessions/{session}/identify", json={"id_number": id_number}
        )
        body = json_object(response)
        return member(response, body, "candidate", str), member(response, body, "id_hash", str)


__all__ = ["DayReads"]
