"""Page text in English and Japanese: English is the key, Japanese the translation."""

from __future__ import annotations

from collections.abc import Callable

JA: dict[str, str] = {
    "Overview": "概要",
    "Graphs": "グラフ",
    "Hosts": "ホスト",
    "series": "系列数",
    "last sample": "最新の測定",
    "stale": "更新なし",
    "RAID": "RAID",
    "PostgreSQL": "PostgreSQL",
    "Guard": "ガード",
    "Audit": "監査",
    "Environment": "環境",
    "sensor": "センサー",
    "dew point": "露点",
    "dry bulb": "乾球温度",
    "Psychrometric chart": "空気線図",
    "allowable": "許容範囲",
    "recommended": "推奨範囲",
    "Inner area: ASHRAE recommended envelope; outer area: allowable for class":
        "内側: ASHRAE 推奨範囲、外側: 許容範囲 クラス",
    "No room sensor reports yet: declare one under [[environment.sensors]], or a hwmon sensor with humidity.":
        "室内センサーの値がまだありません。[[environment.sensors]] で宣言するか、"
        "湿度のある hwmon センサーを使ってください。",
    "Log out": "ログアウト",
    "Log in": "ログイン",
    "User": "ユーザー",
    "Password": "パスワード",
    "Active alerts": "発生中のアラート",
    "No active alerts.": "発生中のアラートはありません。",
    "Probes": "プローブ",
    "probe": "プローブ",
    "state": "状態",
    "reason": "理由",
    "since": "開始",
    "advice": "対処",
    "Acknowledge": "確認済みにする",
    "acknowledged by": "確認済み:",
    "Notifications": "通知",
    "No notifier is configured: alerts will not reach anyone.":
        "通知先が設定されていません。アラートは誰にも届きません。",
    "Alert delivery is failing": "アラートの配信に失敗しています",
    "delivered last": "最終配信",
    "pending": "未配信",
    "Recent guard events": "ガードの最近のイベント",
    "No recent events.": "最近のイベントはありません。",
    "Bans": "遮断中のアドレス",
    "No bans.": "遮断中のアドレスはありません。",
    "address": "アドレス",
    "until": "期限",
    "Unban": "遮断解除",
    "Audit findings": "監査の指摘",
    "No findings.": "指摘はありません。",
    "Run audit now": "今すぐ監査を実行",
    "Watching continuously": "常時監視中",
    "day": "日",
    "week": "週",
    "month": "月",
    "year": "年",
    "range": "期間",
    "earlier": "前へ",
    "later": "次へ",
    "from": "から",
    "to": "まで",
    "Show": "表示",
    "host": "ホスト",
    "system": "システム",
    "disks": "ディスク",
    "network": "ネットワーク",
    "sensors": "センサー",
    "postgresql": "PostgreSQL",
    "guard": "ガード",
    "other": "その他",
    "No stored metrics yet.": "保存されたメトリクスはまだありません。",
    "Arrays": "アレイ",
    "members": "構成ディスク",
    "rebuild": "再構築",
    "Servers": "サーバー",
    "Replication lag": "レプリケーション遅延",
    "Sources by class": "分類別の接続元",
    "class": "分類",
    "count": "件数",
    "Findings": "指摘",
    "measurement": "測定値",
    "value": "値",
    "Are you sure?": "実行してよろしいですか?",
    "Login failed.": "ログインに失敗しました。",
    "Too many attempts; wait a minute.": "試行回数が多すぎます。1分待ってください。",
    "Nothing configured for this page.": "このページの対象は設定されていません。",
    "severity": "重大度",
    "subject": "対象",
    "message": "内容",
    "time": "時刻",
    "source": "発生元",
    "drag to zoom, double-click to reset": "ドラッグで拡大、ダブルクリックで戻す",
}


def pick(accept_language: str, configured: str) -> str:
    if configured:
        return configured
    best, best_q = "en", -1.0
    for part in accept_language.split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in ("en", "ja") and q > best_q:
            best, best_q = base, q
    return best


def translator(lang: str) -> Callable[[str], str]:
    if lang == "ja":
        return lambda text: JA.get(text, text)
    return lambda text: text
