"""The fieldwork timetable: the inspectors' slots in weeks 2 and 3, and the calendar messages for them.

`timetable` reads the timetable the inspection team keeps as a spreadsheet (CSV or XLSX) into slots,
refusing it with every problem (file, row, column) when anything is wrong, and compares two versions
of it; `invitations` writes the .ics requests, updates and cancellations for a slot's attendees.
"""
