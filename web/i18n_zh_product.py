"""Refusals raised below the console in Simplified Chinese: the ``said()`` messages
of monitor/, alerts/ and crawlers/ (db/messages.py) and pydantic's own refusals
of a form value (web/i18n.py ``PYDANTIC``), merged into ``web.i18n_zh.ZH``.
Keys, file names, URLs and values such as ``%(value)r`` stay as typed: they are
what the user must find in a form or a file. Written without a native reviewer."""

# ruff: noqa: E501 - some keys are whole sentences

PRODUCT_ZH: dict[str, str] = {
    # choices (db/messages.py either)
    '%(first)s or %(last)s': '%(first)s 或 %(last)s',
    # pydantic's refusals of a form value (web/i18n.py PYDANTIC)
    'required': '必填',
    'not a known field': '不是可用的字段',
    'should have at least %(min_length)s characters': '至少应有 %(min_length)s 个字符',
    'should have at least %(min_length)s items': '至少应有 %(min_length)s 项',
    'should be one of %(expected)s': '应为以下之一：%(expected)s',
    'should be a whole number': '应为整数',
    'should be a number': '应为数字',
    'should be true or false': '应为 true 或 false',
    'should be at least %(ge)s': '应不小于 %(ge)s',
    'should be more than %(gt)s': '应大于 %(gt)s',
    'should be at most %(le)s': '应不大于 %(le)s',
    'should be less than %(lt)s': '应小于 %(lt)s',
    'should be text': '应为文本',
    'should be a list': '应为列表',
    'should be a mapping': '应为映射',
    # history search filters (monitor/history/search.py)
    '%(key)s: %(raw)r is not a number': '%(key)s：%(raw)r 不是数字',
    '%(key)s: must be between 0 and 1 (got %(raw)s)': '%(key)s：必须在 0 到 1 之间（收到 %(raw)s）',
    '%(key)s: %(raw)r is not a date (use 2026-11-01 or 2026-11-01T08:00)':
        '%(key)s：%(raw)r 不是日期（格式如 2026-11-01 或 2026-11-01T08:00）',
    'q: at most 200 characters': 'q：最多 200 个字符',
    'sort: %(sort)r is not one of %(all)s': 'sort：%(sort)r 不是 %(all)s 之一',
    'order: %(order)r is not asc or desc': 'order：%(order)r 不是 asc 或 desc',
    'after: not a cursor this search handed out': 'after：不是本次搜索给出的翻页游标',
    # alert workflow (alerts/workflow.py)
    'no alert #%(id)s': '没有警报 #%(id)s',
    'alert #%(id)s is a system alert (%(kind)s): it has no incident and clears by itself when its source posts again':
        '警报 #%(id)s 是系统警报（%(kind)s）：它不属于任何事件，来源再次发帖时会自动解除',
    'alert #%(id)s is already resolved': '警报 #%(id)s 已经解决',
    'the reply time %(reply)s UTC is before the incident opened (%(opened)s UTC)':
        '回应时间 %(reply)s UTC 早于事件开始时间（%(opened)s UTC）',
    'not dead-lettered deliveries: %(ids)s': '这些投递不在死信中：%(ids)s',
    # accounts (monitor/users.py)
    'the password must have at least %(n)s characters': '密码至少需要 %(n)s 个字符',
    'unknown role %(role)r (use %(all)s)': '未知角色 %(role)r（可用：%(all)s）',
    'no user named %(name)r': '没有名为 %(name)r 的用户',
    'the name must not be empty': '名称不能为空',
    'a user named %(name)r exists already': '已存在名为 %(name)r 的用户',
    'unknown language %(lang)r; use one of %(all)s': '未知语言 %(lang)r；请使用 %(all)s 之一',
    # durations, spans and rates (alerts/durations.py)
    'expected seconds or a duration like 5m, 1h': '应为秒数或时长，如 5m、1h',
    '%(value)r is not a duration (use seconds or 30s, 5m, 1h, 1d)':
        '%(value)r 不是时长（请用秒数或 30s、5m、1h、1d）',
    '%(value)r is not a finite duration': '%(value)r 不是有限的时长',
    'must be more than 0 seconds': '必须大于 0 秒',
    '%(value)r is too long (at most %(most)s)': '%(value)r 太长（最多 %(most)s）',
    '%(value)r is not a span like 22:00-07:00': '%(value)r 不是时段（格式如 22:00-07:00）',
    '%(value)r starts and ends at the same minute': '%(value)r 的开始和结束是同一分钟',
    '%(value)r is not a rate like 10/1h (messages per period)':
        '%(value)r 不是频率（格式如 10/1h，即每段时间的消息数）',
    # the config's models (monitor/config.py)
    '%(value)r is not a time zone name like Asia/Shanghai': '%(value)r 不是时区名称（如 Asia/Shanghai）',
    'must not contain empty strings': '不能包含空字符串',
    'unknown language %(lang)r (use %(all)s)': '未知语言 %(lang)r（可用：%(all)s）',
    'must not contain empty names': '不能包含空名称',
    'with tags, this must be an apprise configuration (file://... or http(s)://...), not scheme %(scheme)r':
        '设置了标签时，这里必须是 apprise 配置（file://... 或 http(s)://...），而不是 %(scheme)r 协议',
    'not a URL apprise can notify (scheme %(scheme)r)': '不是 apprise 能发送通知的 URL（协议 %(scheme)r）',
    '%(value)r is not a network (10.0.0.0/8) or host name': '%(value)r 不是网段（如 10.0.0.0/8）或主机名',
    # URLs typed in the console (crawlers/urlcheck.py, crawlers/jetstream.py)
    'host %(host)r does not resolve': '主机 %(host)r 无法解析',
    'host %(host)r is a private, loopback, link-local or reserved address; add it to console.allow_private in the config to permit it':
        '主机 %(host)r 是私有、回环、链路本地或保留地址；如需允许，请在配置的 console.allow_private 中加入它',
    'host %(host)r is a private, loopback, link-local or reserved address (it resolves to %(ip)s); add it to console.allow_private in the config to permit it':
        '主机 %(host)r 是私有、回环、链路本地或保留地址（解析为 %(ip)s）；如需允许，请在配置的 console.allow_private 中加入它',
    'not a valid URL': '不是有效的 URL',
    'scheme %(scheme)r is not allowed; use %(all)s': '不允许 %(scheme)r 协议；请使用 %(all)s',
    'the URL has no host': 'URL 中没有主机',
    'a backslash in the host part reads as a different host to different parsers; write the URL without it':
        '主机部分的反斜杠会被不同的解析器读成不同的主机；请去掉它',
    '%(scheme)s:// cannot be entered in the console; put this channel in the config file':
        '不能在控制台中填写 %(scheme)s://；请把此渠道写入配置文件',
    'redirect=yes cannot be set on a console channel: the place a redirect leads to is not checked':
        '控制台添加的渠道不能设置 redirect=yes：重定向的目标未经检查',
    'apprise cannot read this URL': 'apprise 无法读取此 URL',
    'refused: %(why)s': '已拒绝：%(why)s',
    '%(url)r is not an http(s) URL with a host': '%(url)r 不是带主机的 http(s) URL',
    # sending (alerts/notify.py)
    'no entry of the apprise configuration has tag %(tags)s': 'apprise 配置中没有带标签 %(tags)s 的条目',
    "apprise cannot read this channel's configuration": 'apprise 无法读取此渠道的配置',
    'the apprise configuration could not be read or has no entries': 'apprise 配置无法读取或没有条目',
    'the apprise configuration could not be read or has no entries: %(why)s':
        'apprise 配置无法读取或没有条目：%(why)s',
    'entry %(entry)s of the apprise configuration follows redirects: the place a redirect leads to is not checked':
        'apprise 配置的条目 %(entry)s 会跟随重定向：重定向的目标未经检查',
    'entry %(entry)s of the apprise configuration: %(why)s': 'apprise 配置的条目 %(entry)s：%(why)s',
    'apprise cannot use this channel URL': 'apprise 无法使用此渠道 URL',
    # a stream source's state (monitor/history/health.py)
    'stream %(state)s': '信息流%(state)s',
    'stream %(state)s, lag %(lag)s s': '信息流%(state)s，延迟 %(lag)s 秒',
    'connected': '已连接',
    'reconnecting': '重连中',
    'stopped': '已停止',
    'not started': '未启动',
    # the console's test fetch (web/admin/probe.py)
    'no answer within %(n)s s': '%(n)s 秒内没有响应',
    'the test fetch failed: %(why)s': '测试抓取失败：%(why)s',
    'the test fetch failed: no output': '测试抓取失败：没有输出',
    # forum rules (crawlers/extractors/rules.py)
    '%(key)s: must be a mapping, got %(type)s': '%(key)s：应为映射，实际是 %(type)s',
    '%(key)s: unknown key': '%(key)s：未知的键',
    '%(key)s: required': '%(key)s：必填',
    '%(key)s: must be a selector string': '%(key)s：应为选择器字符串',
    '%(key)s: invalid selector %(value)r: %(why)s': '%(key)s：无效的选择器 %(value)r：%(why)s',
    '%(key)s: must be a string': '%(key)s：应为字符串',
    'follow.url: must be an absolute http(s) URL or a path': 'follow.url：应为完整的 http(s) URL 或路径',
    'key_pattern: must be a regex string': 'key_pattern：应为正则表达式字符串',
    'key_pattern: invalid regex %(value)r: %(why)s': 'key_pattern：无效的正则表达式 %(value)r：%(why)s',
    'key_pattern: needs exactly one group, %(value)r has %(n)s': 'key_pattern：需要正好一个分组，%(value)r 有 %(n)s 个',
    'forum rules: give a preset, rules, or both': '论坛规则：请给出预设、规则或两者',
    'preset: unknown preset %(preset)r; known presets: %(known)s': 'preset：未知预设 %(preset)r；可用预设：%(known)s',
    '%(field)s: preset and rules are for kind forum, not %(kind)s': '%(field)s：预设和规则只用于 forum 类型，不用于 %(kind)s',
    'rules: %(problem)s': 'rules：%(problem)s',
    'page: these rules have no listing section; use page: thread': 'page：这些规则没有 listing 部分；请使用 page: thread',
    # Mastodon sources (crawlers/mastodon.py)
    '%(key)s: expected a list of words, got %(value)r': '%(key)s：应为词语列表，实际是 %(value)r',
    '%(key)s: must not contain empty strings': '%(key)s：不能包含空字符串',
    'rules: expected a mapping such as %(example)s': 'rules：应为映射，例如 %(example)s',
    '%(key)s: unknown key for kind %(kind)s (use %(all)s)': '%(key)s：%(kind)s 类型没有这个键（可用：%(all)s）',
    'hashtags: %(tag)r is not a hashtag (letters, digits and _ only, without spaces)':
        'hashtags：%(tag)r 不是话题标签（只能有字母、数字和 _，不能有空格）',
    'timeline: %(value)r is not one of %(all)s': 'timeline：%(value)r 不是 %(all)s 之一',
    'token_env: %(value)r is not an environment variable name such as MASTODON_TOKEN':
        'token_env：%(value)r 不是环境变量名（如 MASTODON_TOKEN）',
    "search: Mastodon's search needs an access token; set token_env to the environment variable that holds it":
        'search：Mastodon 的搜索需要访问令牌；请把 token_env 设为保存令牌的环境变量',
    'limit: statuses per request, 1 to %(most)s (got %(value)r)': 'limit：每次请求的嘟文数，1 到 %(most)s（收到 %(value)r）',
    'hashtags: say what to read: hashtags, a timeline (local or federated) and/or search keywords':
        'hashtags：请指明要读取的内容：话题标签、时间线（local 或 federated）和/或搜索关键词',
    "%(url)r: give the instance's address only, such as %(base)s (hashtags and timelines are set apart)":
        '%(url)r：只填实例地址，如 %(base)s（话题标签和时间线另行设置）',
    'preset: presets are for kind forum, not mastodon': 'preset：预设只用于 forum 类型，不用于 mastodon',
    'page: a mastodon source reads streams; leave page unset': 'page：mastodon 来源读取的是信息流；请不要设置 page',
    'url: %(problem)s': 'url：%(problem)s',
    # Reddit sources (crawlers/reddit.py)
    '%(key)s: must not contain empty strings (or over %(n)s characters)': '%(key)s：不能包含空字符串（或超过 %(n)s 个字符的词）',
    '%(key)s: %(value)r is not an environment variable name such as REDDIT_CLIENT_ID':
        '%(key)s：%(value)r 不是环境变量名（如 REDDIT_CLIENT_ID）',
    '%(key)s: %(value)r is not an http(s) URL with a host': '%(key)s：%(value)r 不是带主机的 http(s) URL',
    'subreddits: %(name)r is not a subreddit name (2 to 21 letters, digits or _)':
        'subreddits：%(name)r 不是子版块名称（2 到 21 个字母、数字或 _）',
    'comments: true or false (got %(value)r)': 'comments：应为 true 或 false（收到 %(value)r）',
    'subreddits: say what to read: subreddits and/or search keywords':
        'subreddits：请指明要读取的内容：子版块和/或搜索关键词',
    'comments: new comments are read per subreddit; list subreddits':
        'comments：新评论按子版块读取；请列出子版块',
    "%(key)s: Reddit's API needs your own app's credentials: name the environment variables holding its client id and secret (client_id_env: REDDIT_CLIENT_ID, client_secret_env: REDDIT_CLIENT_SECRET; create a script app at %(page)s)":
        '%(key)s：Reddit 的 API 需要您自己应用的凭据：请填写存放其客户端标识和密钥的环境变量名（client_id_env: REDDIT_CLIENT_ID，client_secret_env: REDDIT_CLIENT_SECRET；在 %(page)s 创建一个脚本类应用）',
    'username_env: the password grant needs both username_env and password_env (leave both out for an app-only token)':
        'username_env：密码授权需要同时填写 username_env 和 password_env（仅用应用令牌时两者都不填）',
    "user_agent: one printable line such as 'server:crisiswatch:1.0 (by /u/yourname)'":
        "user_agent：应为一行可打印文本，例如 'server:crisiswatch:1.0 (by /u/yourname)'",
    'limit: items per request, 1 to %(most)s (got %(value)r)': 'limit：每次请求的条目数，1 到 %(most)s（收到 %(value)r）',
    'rules: give %(key)s either at the top level or in rules, not both':
        'rules：%(key)s 请写在顶层或 rules 中，不要两处都写',
    'preset: presets are for kind forum (reddit_old reads public old.reddit.com pages), not reddit':
        'preset：预设只用于 forum 类型（reddit_old 读取公开的 old.reddit.com 页面），不用于 reddit',
    'page: a reddit source reads listings; leave page unset': 'page：reddit 来源读取的是列表；请不要设置 page',
    "url: %(url)r: give the API's address only, such as %(base)s": 'url：%(url)r：只填 API 的地址，如 %(base)s',
    # Bluesky sources (crawlers/bluesky.py)
    '%(key)s: %(value)r is not a service address such as %(default)s': '%(key)s：%(value)r 不是服务地址（如 %(default)s）',
    'handle: %(value)r is not a Bluesky handle such as acme.bsky.social':
        'handle：%(value)r 不是 Bluesky 账号（如 acme.bsky.social）',
    'app_password_env: %(value)r is not an environment variable name such as BSKY_APP_PASSWORD':
        'app_password_env：%(value)r 不是环境变量名（如 BSKY_APP_PASSWORD）',
    'app_password_env: back-fill (handle) needs an app password; set app_password_env to the environment variable that holds it':
        'app_password_env：回填（handle）需要应用密码；请把 app_password_env 设为保存密码的环境变量',
    "handle: app_password_env is for back-fill; give the account's handle too":
        'handle：app_password_env 用于回填；请同时填写账号',
    'backfill_hours: hours to read back, 1 to 168 (got %(value)r)': 'backfill_hours：回读的小时数，1 到 168（收到 %(value)r）',
    'preset: presets are for kind forum, not bluesky': 'preset：预设只用于 forum 类型，不用于 bluesky',
    # Hacker News sources (crawlers/extractors/hackernews.py)
    'query: must not contain empty strings': 'query：不能包含空字符串',
    'query: %(start)r... is longer than 200 characters': 'query：%(start)r... 超过 200 个字符',
    '%(field)s: is for kind hackernews, not %(kind)s': '%(field)s：只用于 hackernews 类型，不用于 %(kind)s',
    "query: list at least one term, or leave query out to search for the brands' keywords":
        'query：请至少列出一个搜索词，或不填 query 以搜索各品牌的关键词',
    'items_url: %(value)r is not an http(s) URL with a host': 'items_url：%(value)r 不是带主机的 http(s) URL',
    # playbook files (alerts/playbooks.py, alerts/playbook_check.py)
    '%(file)s: %(problem)s': '%(file)s：%(problem)s',
    '%(file)s: cannot read (%(why)s)': '%(file)s：无法读取（%(why)s）',
    '%(file)s: not UTF-8 text': '%(file)s：不是 UTF-8 文本',
    '%(file)s: not valid YAML: %(why)s': '%(file)s：不是有效的 YAML：%(why)s',
    '%(file)s: expected a mapping of playbook fields': '%(file)s：应为应对手册字段的映射',
    '%(file)s: not a folder': '%(file)s：不是文件夹',
    '%(file)s: playbook files must end in .yaml': '%(file)s：应对手册文件必须以 .yaml 结尾',
    '%(file)s: no playbook files (*.yaml)': '%(file)s：没有应对手册文件（*.yaml）',
    'exactly one playbook must say default: true, found %(n)s%(names)s; to change the default, replace the built-in default with a copy that says default: false':
        '必须正好有一个应对手册写明 default: true，实际有 %(n)s 个%(names)s；要更换默认手册，请用一份写明 default: false 的副本替换内置的默认手册',
    'no default playbook among the playbooks given': '给出的应对手册中没有默认手册',
    '%(key)s: unknown key (known: %(all)s)': '%(key)s：未知的键（可用：%(all)s）',
    '%(key)s: missing': '%(key)s：缺失',
    'name: must equal the file name (%(stem)r), not %(name)r': 'name：必须与文件名（%(stem)r）相同，而不是 %(name)r',
    '%(key)s: must be a mapping with en and zh': '%(key)s：应为包含 en 和 zh 的映射',
    '%(key)s: unknown language (use en and zh)': '%(key)s：未知语言（请用 en 和 zh）',
    '%(key)s: must be non-empty text': '%(key)s：应为非空文本',
    '%(key)s: must be a non-empty list of strings': '%(key)s：应为非空的字符串列表',
    'default: must be true or false': 'default：应为 true 或 false',
    'priority: must be a whole number': 'priority：应为整数',
    'response_time: %(problem)s': 'response_time：%(problem)s',
    '%(key)s: must be a list of keys': '%(key)s：应为键的列表',
    '%(key)s: unknown key %(value)r (known: %(all)s)': '%(key)s：未知的键 %(value)r（可用：%(all)s）',
    '%(key)s: unknown placeholder(s) %(bad)s (allowed: %(allowed)s)': '%(key)s：未知的占位符 %(bad)s（可用：%(allowed)s）',
    '%(key)s: {%(name)s} must be inside an optional clause in square brackets, e.g. "[ at {%(name)s}]", which is left out when the incident names none (an online post does not)':
        '%(key)s：{%(name)s} 必须放在方括号的可选从句中，例如 "[ at {%(name)s}]"；事件没有给出它时（网络帖子不会给出）该从句会被省略',
    'placeholder_defaults: must be a mapping of %(all)s': 'placeholder_defaults：应为 %(all)s 的映射',
    'placeholder_defaults.%(name)s: a %(name)s is a fact of the incident, not a default: put {%(name)s} in an optional clause instead':
        'placeholder_defaults.%(name)s：%(name)s 是事件本身的事实，不能设默认值：请把 {%(name)s} 放进可选从句',
    '%(key)s: unknown placeholder (allowed: %(all)s)': '%(key)s：未知的占位符（可用：%(all)s）',
    '%(key)s: recommends %(what)s (%(words)r), which crisiswatch never does; say what to do here and list what not to do under never_do':
        '%(key)s：建议了 %(what)s（%(words)r），crisiswatch 从不这样做；请在这里写该做什么，把不该做的写在 never_do 下',
}
