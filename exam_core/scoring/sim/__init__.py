"""Scripted candidates: a simulated car driven through a field or road course.

They make the signed telemetry the demonstration, the tests and the benchmarks score; nothing
in scoring's engine imports them.
"""
