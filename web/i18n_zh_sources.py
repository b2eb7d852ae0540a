"""The source form's per-kind fields in Simplified Chinese (web/admin/source_kinds.py,
templates/admin/source_form.html), merged into the catalogue ``web.i18n_zh.ZH``; kept
apart so the catalogue stays a readable size. Option names, environment variable
names and addresses in the hints stay as they are: they are what one types."""

# ruff: noqa: E501 - some keys are whole sentences

SOURCES_ZH: dict[str, str] = {
    'Mastodon options': 'Mastodon 选项',
    "URL: the instance's address only, such as https://mastodon.social.":
        'URL：只填实例地址，例如 https://mastodon.social。',
    'Hashtags': '话题标签',
    'One per line or comma-separated, without #.': '每行一个或用逗号分隔，不带 #。',
    'Public timeline': '公共时间线',
    'local': '本站',
    'federated': '跨站',
    'Search keywords': '搜索关键词',
    "One per line; Mastodon's search needs an access token.": '每行一个；Mastodon 的搜索需要访问令牌。',
    'Token environment variable': '令牌环境变量',
    "The name of the variable holding the access token in the daemon's environment, such as MASTODON_TOKEN; never the token itself.":
        '守护进程环境中存放访问令牌的变量名，例如 MASTODON_TOKEN；切勿填写令牌本身。',
    'Hacker News options': 'Hacker News 选项',
    'URL: leave blank for the Algolia search API.': 'URL：留空即使用 Algolia 搜索 API。',
    'Search terms': '搜索词',
    "One per line; blank: the brands' keywords.": '每行一个；留空则使用各品牌的关键词。',
    'Bluesky options': 'Bluesky 选项',
    "URL: a Jetstream endpoint, such as wss://jetstream2.us-east.bsky.network/subscribe. Posts are kept when they name a brand's keywords.":
        'URL：一个 Jetstream 端点，例如 wss://jetstream2.us-east.bsky.network/subscribe。提到品牌关键词的帖子会被保留。',
    'Account handle for back-fill': '用于回填的账号',
    'Optional: with an app password, posts missed while away are searched for.':
        '可选：配合应用密码，断开期间漏掉的帖子会通过搜索补回。',
    'App password environment variable': '应用密码环境变量',
    'Reddit options': 'Reddit 选项',
    "URL: leave blank for Reddit's API (https://oauth.reddit.com). Reddit needs your own app: create a script app at https://www.reddit.com/prefs/apps and give the names of the environment variables that hold its id and secret in the daemon's environment, never the values. Until they are set the source is shown disabled.":
        'URL：留空即使用 Reddit 的 API（https://oauth.reddit.com）。Reddit 需要您自己的应用：在 https://www.reddit.com/prefs/apps 创建一个脚本类应用，并填写守护进程环境中存放其客户端标识和密钥的环境变量名，切勿填写值本身。变量未设置时，该来源显示为已停用。',
    'Subreddits': '子版块',
    'One per line or comma-separated, without r/.': '每行一个或用逗号分隔，不带 r/。',
    'Newest posts matching these, in the subreddits above (all of Reddit without subreddits).':
        '在上述子版块中（未填子版块则在整个 Reddit）匹配这些词的最新帖子。',
    "Read the subreddits' new comments too": '同时读取这些子版块的新评论',
    'Client id environment variable': '客户端标识环境变量',
    'Client secret environment variable': '客户端密钥环境变量',
    'Account environment variable': '账号环境变量',
    'Optional, with the password: the password grant reads as that account.':
        '可选，需与密码一起填写：以该账号身份通过密码授权读取。',
    'Password environment variable': '密码环境变量',
    'Token endpoint': '令牌端点',
    "Leave blank for Reddit's.": '留空即使用 Reddit 的端点。',
    'Reddit asks for a unique one, such as server:crisiswatch:1.0 (by /u/yourname).':
        'Reddit 要求唯一的标识：写明平台、应用名、版本和您的 Reddit 用户名。',
    'a stream cannot be test-fetched here; run crisiswatch sources test with this source in a config file':
        '数据流无法在此测试抓取；请将该来源写入配置文件后运行 crisiswatch sources test',
}
