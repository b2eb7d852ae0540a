"""Handlers' error messages in Simplified Chinese (web/pr.py, web/analyst.py,
web/board.py, web/admin/sources.py), merged into the catalogue
``web.i18n_zh.ZH``; kept apart so the catalogue stays a readable size. Field
names the user typed in the URL (``limit``, ``severity``) stay as they are."""

# ruff: noqa: E501 - some keys are whole sentences

ERRORS_ZH: dict[str, str] = {
    'reply time: %(raw)r is not a date and time (use 2026-11-01T08:00)':
        '回应时间：%(raw)r 不是日期和时间（格式如 2026-11-01T08:00）',
    'reply time: that is in the future; give the time the first public reply went out (%(zone)s)':
        '回应时间：这是将来的时间；请填写首次公开回应发出的时间（%(zone)s）',
    'limit: %(raw)r is not a whole number': 'limit：%(raw)r 不是整数',
    'limit: must be between 1 and %(max)s': 'limit：必须在 1 到 %(max)s 之间',
    'severity: %(severity)r is not one of %(all)s': 'severity：%(severity)r 不是 %(all)s 之一',
    'There is no incident #%(id)s.': '没有事件 #%(id)s。',
    'not valid YAML: %(why)s': '不是有效的 YAML：%(why)s',
    'expected a mapping such as listing: {...}, thread: {...}':
        '应为映射，例如 listing: {...}, thread: {...}',
}
