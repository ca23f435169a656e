/* Labels of the control-room page, English and Urdu. Keys are used by data-i18n attributes
   and by controlroom.js; {n}-style placeholders are filled by NigraniI18n.t(key, values). */
(function () {
  "use strict";
  var LABELS = {
    en: {
      title: "Nigrani control room",
      district: "District",
      connecting: "Connecting…",
      live: "Live",
      reconnecting: "Reconnecting…",
      delayed: "Delayed",
      feed_degraded: "The live alert feed is interrupted. New alerts are being fetched every {n} seconds.",
      feed_lost: "The live alert feed is interrupted and the connection to the server was lost: reconnecting…",
      sign_out: "Sign out",
      stay_signed_in: "Stay signed in",
      open_alerts: "Open alerts",
      unacknowledged: "Unacknowledged",
      overdue_alerts: "Overdue",
      escalated: "Escalated",
      overdue_checkins: "Overdue check-ins",
      coverage: "Verification coverage",
      f_open: "All open",
      f_unack: "Unacknowledged",
      f_overdue: "Overdue",
      f_escalated: "Escalated",
      f_mine: "Assigned to me",
      h_severity: "Severity",
      h_alert: "Alert",
      h_age: "Age",
      h_ack: "Acknowledgement",
      h_step: "Step",
      h_assignee: "Assignee",
      no_alerts: "No open alerts.",
      sev_4: "Critical",
      sev_3: "High",
      sev_2: "Medium",
      sev_1: "Low",
      kind_late_notice: "Late notice of change",
      kind_missed_checkin: "Missed check-in",
      kind_absconding_suspected: "Suspected absconding",
      kind_exclusion_zone: "Exclusion zone entered",
      kind_travel_without_notice: "Travel without notice",
      kind_overdue_return: "Overdue return",
      kind_tag_offline: "Tag offline",
      offender: "Offender #{id}",
      alert_no: "Alert #{id}",
      repeats: "×{n} repeats",
      ago: "{t} ago",
      due_in: "due in {t}",
      overdue_by: "overdue {t}",
      acknowledged: "Acknowledged",
      resolve_due: "resolve in {t}",
      resolve_overdue: "resolution overdue {t}",
      step: "Step {n}",
      step_repeat: "Step {n} (repeat {r})",
      exhausted: "ladder exhausted",
      unassigned: "Unassigned",
      me: "Me",
      officer_no: "Officer #{id}",
      acknowledge: "Acknowledge",
      resolve: "Resolve",
      dismiss: "Dismiss",
      assign: "Assign…",
      assign_to: "Assign to",
      do_assign: "Assign",
      assignees_loading: "Loading officers…",
      choose_district: "Watch district",
      reason: "Reason",
      confirm: "Confirm",
      cancel: "Cancel",
      reason_needed: "A reason is needed.",
      action_failed: "Could not {action}: {message}",
      load_failed: "Could not load alerts: {message}",
      idle_warning: "You will be signed out in {t} for inactivity. Move the mouse or press a key to stay signed in.",
      signed_out_title: "You have been signed out",
      signed_out_idle: "You were signed out after {m} minutes without activity. Alerts are no longer shown on this screen.",
      signed_out_other: "Your session has ended. Alerts are no longer shown on this screen.",
      sign_in_again: "Sign in again",
      new_alert: "New alert"
    },
    ur: {
      title: "نگرانی کنٹرول روم",
      district: "ضلع",
      connecting: "رابطہ ہو رہا ہے…",
      live: "براہِ راست",
      reconnecting: "دوبارہ رابطہ ہو رہا ہے…",
      delayed: "تاخیر سے",
      feed_degraded: "الرٹس کی براہِ راست ترسیل منقطع ہے۔ نئے الرٹ ہر {n} سیکنڈ بعد حاصل کیے جا رہے ہیں۔",
      feed_lost: "الرٹس کی براہِ راست ترسیل منقطع ہے اور سرور سے رابطہ ٹوٹ گیا ہے: دوبارہ رابطہ ہو رہا ہے…",
      sign_out: "سائن آؤٹ",
      stay_signed_in: "سائن اِن رہیں",
      open_alerts: "کھلے الرٹ",
      unacknowledged: "غیر تسلیم شدہ",
      overdue_alerts: "مہلت گزر گئی",
      escalated: "آگے بھیجے گئے",
      overdue_checkins: "تاخیر شدہ حاضریاں",
      coverage: "تصدیق کی شرح",
      f_open: "تمام کھلے",
      f_unack: "غیر تسلیم شدہ",
      f_overdue: "مہلت گزر گئی",
      f_escalated: "آگے بھیجے گئے",
      f_mine: "میرے سپرد",
      h_severity: "سنگینی",
      h_alert: "الرٹ",
      h_age: "وقت",
      h_ack: "تسلیم",
      h_step: "مرحلہ",
      h_assignee: "ذمہ دار",
      no_alerts: "کوئی کھلا الرٹ نہیں۔",
      sev_4: "انتہائی سنگین",
      sev_3: "سنگین",
      sev_2: "درمیانہ",
      sev_1: "کم",
      kind_late_notice: "تبدیلی کی تاخیر سے اطلاع",
      kind_missed_checkin: "حاضری نہیں دی",
      kind_absconding_suspected: "مفرور ہونے کا شبہ",
      kind_exclusion_zone: "ممنوعہ علاقے میں داخلہ",
      kind_travel_without_notice: "بغیر اطلاع سفر",
      kind_overdue_return: "واپسی میں تاخیر",
      kind_tag_offline: "ٹیگ بند",
      offender: "مجرم نمبر {id}",
      alert_no: "الرٹ نمبر {id}",
      repeats: "{n} بار دہرایا گیا",
      ago: "{t} پہلے",
      due_in: "{t} باقی",
      overdue_by: "{t} تاخیر",
      acknowledged: "تسلیم شدہ",
      resolve_due: "حل کے لیے {t} باقی",
      resolve_overdue: "حل میں {t} تاخیر",
      step: "مرحلہ {n}",
      step_repeat: "مرحلہ {n} (دہرائی {r})",
      exhausted: "تمام مراحل مکمل",
      unassigned: "کسی کے سپرد نہیں",
      me: "میں",
      officer_no: "افسر نمبر {id}",
      acknowledge: "تسلیم کریں",
      resolve: "حل کریں",
      dismiss: "خارج کریں",
      assign: "سپرد کریں…",
      assign_to: "کس کے سپرد",
      do_assign: "سپرد کریں",
      assignees_loading: "افسران لوڈ ہو رہے ہیں…",
      choose_district: "ضلع منتخب کریں",
      reason: "وجہ",
      confirm: "تصدیق",
      cancel: "منسوخ",
      reason_needed: "وجہ لکھنا ضروری ہے۔",
      action_failed: "{action} نہیں ہو سکا: {message}",
      load_failed: "الرٹ لوڈ نہیں ہو سکے: {message}",
      idle_warning: "غیر فعالیت کی وجہ سے آپ {t} میں سائن آؤٹ ہو جائیں گے۔ سائن اِن رہنے کے لیے ماؤس ہلائیں یا کوئی بٹن دبائیں۔",
      signed_out_title: "آپ سائن آؤٹ ہو چکے ہیں",
      signed_out_idle: "{m} منٹ تک کوئی سرگرمی نہ ہونے پر آپ کو سائن آؤٹ کر دیا گیا۔ اس اسکرین پر اب الرٹ نہیں دکھائے جا رہے۔",
      signed_out_other: "آپ کا سیشن ختم ہو گیا ہے۔ اس اسکرین پر اب الرٹ نہیں دکھائے جا رہے۔",
      sign_in_again: "دوبارہ سائن اِن کریں",
      new_alert: "نیا الرٹ"
    }
  };
  var lang = "en";
  try { lang = window.localStorage.getItem("nigrani.lang") === "ur" ? "ur" : "en"; } catch (e) { lang = "en"; }

  function t(key, values) {
    var text = (LABELS[lang] && LABELS[lang][key]) || LABELS.en[key] || key;
    if (values) {
      Object.keys(values).forEach(function (name) { text = text.split("{" + name + "}").join(values[name]); });
    }
    return text;
  }

  function apply() {
    document.documentElement.lang = lang;
    document.documentElement.dir = lang === "ur" ? "rtl" : "ltr";
    document.querySelectorAll("[data-i18n]").forEach(function (el) { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll("[data-lang]").forEach(function (el) {
      el.setAttribute("aria-pressed", el.dataset.lang === lang ? "true" : "false");
    });
  }

  function set(next) {
    lang = next === "ur" ? "ur" : "en";
    try { window.localStorage.setItem("nigrani.lang", lang); } catch (e) { /* private mode */ }
    apply();
  }

  window.NigraniI18n = { t: t, apply: apply, set: set, lang: function () { return lang; } };
})();
