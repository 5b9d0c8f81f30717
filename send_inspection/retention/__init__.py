"""Retention and records: when each kind of an inspection's data is deleted, holds, deletion, the record's export.

`service` is the door for the command line, the console and the scheduled `retention` flow: the schedule of an
inspection, placing and lifting holds, exporting the record, and applying the rules.
"""
