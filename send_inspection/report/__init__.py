"""The partnership's one factual-accuracy response to the restricted draft inspection report.

`comments` checks the rows each partner's reviewers type (paragraph, comment, evidence) and merges
every partner's comments into one list in report order, each once; `table` turns that list and the
response's particulars into the rows both documents show; `response_docx` and `response_xlsx` write
the response as a Word document and as an Excel workbook, marked OFFICIAL-SENSITIVE.
"""
