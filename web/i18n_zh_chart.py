"""The incident timeline's words in Simplified Chinese (web/charts.py), merged into
the catalogue ``web.i18n_zh.ZH``; kept apart so the catalogue stays a readable size.
Step names keep the digits and take a space before the unit, like the rest of the
console ("5 分钟"); labels on the chart are short (its lanes are narrow)."""

# ruff: noqa: E501 - some keys are whole sentences

CHART_ZH: dict[str, str] = {
    'Timeline: %(summary)s': '时间线：%(summary)s',
    'mentions / %(step)s': '提及 / %(step)s',
    'negative %': '负面 %',
    'mentions per %(step)s': '每 %(step)s 提及数',
    'negative share, % (right axis)': '负面占比，%（右轴）',
    '%(n)s mentions, %(neg)s negative': '%(n)s 条提及，%(neg)s 条负面',
    '%(n)s mentions from %(start)s to %(end)s, counted per %(step)s, at most %(peak)s per %(step)s':
        '%(start)s 至 %(end)s 共 %(n)s 条提及，按每 %(step)s 计，每 %(step)s 最多 %(peak)s 条',
    '%(what)s at %(when)s': '%(what)s于 %(when)s',
    'notice alert': '提示警报',
    'warning alert': '警告警报',
    'crisis alert': '危机警报',
    'acknowledged (ack)': '已认领',
    'ack': '已认领',
    'alert #%(id)s': '警报 #%(id)s',
    'by %(who)s': '经办人 %(who)s',
    '10 s': '10 秒',
    '30 s': '30 秒',
    '1 min': '1 分钟',
    '5 min': '5 分钟',
    '15 min': '15 分钟',
    '1 h': '1 小时',
    '3 h': '3 小时',
    '6 h': '6 小时',
    '1 d': '1 天',
    '7 d': '7 天',
    '30 d': '30 天',
}
