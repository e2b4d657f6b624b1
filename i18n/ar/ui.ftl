## نصوص تطبيق سطح المكتب: التنقل، نقطة البيع، قائمة العملاء وشاشة تفاصيل العميل.

app-title = دكان
app-already-open = دكان مفتوح بالفعل على هذا الجهاز: ها هو.
app-language-switch = English
    .title = تحويل التطبيق إلى الإنجليزية
app-nav-label = الشاشات
nav-counter = نقطة البيع
nav-customers = العملاء
shortcut-hint = { $key }

counter-search-label = ابحث عن عميل
counter-search-placeholder = الهاتف، آخر ٤ أرقام، الاسم أو رقم العميل
counter-search-hint = اكتب للبحث. ↑ ↓ للاختيار، Enter للفتح.
counter-no-results = لا يوجد عميل يطابق «{ $query }».
counter-no-results-hint = اضغط F2 لإضافته كعميل جديد.
counter-results-label = نتائج البحث
counter-new-customer = عميل جديد
counter-guest = عميل عابر (زائر)
counter-open = فتح

stub-title = عميل جديد
stub-country-code = رمز الدولة
stub-save = حفظ
stub-cancel = إلغاء
stub-save-hint = Enter للحفظ · Esc للإلغاء
stub-optional = اختياري

country-om = عُمان
country-ae = الإمارات العربية المتحدة
country-sa = السعودية
country-qa = قطر
country-bh = البحرين
country-kw = الكويت
country-in = الهند
country-pk = باكستان

confirm-created = تم حفظ العميل
confirm-guest = بدأت معاملة لعميل عابر
confirm-existing = رقم الهاتف هذا مسجل لعميل موجود
confirm-existing-hint = استخدم هذا العميل بدلاً من إنشاء عميل مكرر.
confirm-use-existing = استخدم هذا العميل
confirm-back = العودة إلى النموذج
confirm-new-search = بحث جديد
confirm-open = فتح الملف
confirm-order = تسجيل طلب

customer-number-label = رقم العميل
customer-name = الاسم
customer-phone = الهاتف
customer-type = النوع
customer-orders = الطلبات
customer-points = النقاط
customer-last-order = آخر طلب
customer-sync = حالة المزامنة
customer-inactive = غير نشط
customer-no-phone = بلا هاتف

sync-state-pending = بانتظار المزامنة
sync-state-synced = تمت المزامنة
sync-state-parked = يحتاج إلى مراجعة

list-title = العملاء
list-filter-type = النوع
list-filter-type-all = الكل عدا الزوار
list-filter-active = الحالة
list-filter-active-only = نشط
list-filter-inactive-only = غير نشط
list-filter-all = الكل
list-filter-unsynced = غير المتزامنين فقط
list-search-label = ابحث في القائمة
list-export = تصدير CSV
list-export-xlsx = تصدير Excel
list-exported = { $rows ->
    [zero] لم يُصدَّر أي عميل إلى { $path }
    [one] تم تصدير عميل واحد إلى { $path }
    [two] تم تصدير عميلين إلى { $path }
    [few] تم تصدير { $rows } عملاء إلى { $path }
   *[other] تم تصدير { $rows } عميلاً إلى { $path }
}
list-deactivate = إلغاء التفعيل
list-deactivate-confirm = إلغاء تفعيل { $name }؟ لن يظهر بعد الآن في نقطة البيع.
list-deactivate-yes = نعم، ألغِ التفعيل
list-deactivate-no = إبقاؤه نشطاً
list-deactivated = تم إلغاء تفعيل { $name }.
list-reactivate = إعادة التفعيل
list-reactivated = { $name } نشط من جديد.
list-empty = لا يوجد عملاء يطابقون هذه التصفية.
list-loaded = { $count ->
    [zero] لا يوجد عملاء معروضون
    [one] عميل واحد معروض
    [two] عميلان معروضان
    [few] { $count } عملاء معروضون
   *[other] { $count } عميلاً معروضاً
}
list-more = المزيد في الأسفل

detail-back = رجوع
detail-tab-profile = الملف الشخصي
detail-tab-addresses = العناوين
detail-tab-preferences = التفضيلات
detail-save = حفظ التغييرات
detail-saved = تم الحفظ.
detail-deactivate = إلغاء تفعيل العميل
detail-since = عميل منذ { $date }

address-add = إضافة عنوان
address-edit = تعديل
address-delete = حذف
address-delete-confirm = حذف هذا العنوان؟
address-delete-yes = نعم، احذف
address-make-default = اجعله الافتراضي
address-default = الافتراضي
address-none = لا توجد عناوين بعد.
address-save = حفظ العنوان
address-cancel = إلغاء
address-type = نوع العنوان
address-type-home = المنزل
address-type-work = العمل
address-type-other = آخر

pref-folding = الملابس
pref-folding-none = بلا تفضيل
pref-folding-hang = تعليق
pref-folding-fold = طي
pref-eco = تغليف صديق للبيئة
pref-channels = الإشعار عبر
pref-channel-whatsapp = واتساب
pref-channel-sms = رسالة نصية
pref-channel-email = البريد الإلكتروني
pref-save = حفظ التفضيلات

error-unexpected = حدث خطأ غير متوقع: { $detail }

# الترقية إلى ملف كامل (تحقق الهاتف برمز)
upgrade-title = الملف الكامل
upgrade-start = الترقية إلى ملف كامل
upgrade-again = اطلب مجدداً
upgrade-submit = اطلب الرمز
upgrade-sms-language = لغة الرسالة النصية
upgrade-offline-note = يعمل دون اتصال: تُرسل الرسالة بالرمز إلى العميل فور وصول الجهاز إلى الخادم.
upgrade-waiting-for-sync = في الانتظار. تُرسل الرسالة بالرمز فور اتصال هذا الجهاز.
upgrade-sending = جارٍ إرسال الرمز…
upgrade-sending-in = يمكن إرسال الرمز بعد { $seconds } ث.
upgrade-code-sent = أُرسل الرمز إلى
upgrade-code-label = الرمز المكوّن من 6 أرقام
upgrade-verify = تحقق
upgrade-resend = أرسل رمزاً جديداً
upgrade-resend-in = رمز جديد بعد { $seconds } ث
upgrade-wrong-code = { $left ->
    [zero] رمز خاطئ. لم تبقَ محاولات.
    [one] رمز خاطئ. بقيت محاولة واحدة.
    [two] رمز خاطئ. بقيت محاولتان.
   *[other] رمز خاطئ. بقيت { $left } محاولات.
}
upgrade-bad-code = هذا ليس الرمز المرسل.
upgrade-no-code = لا يوجد رمز بانتظار التحقق. أرسل رمزاً جديداً.
upgrade-wait-to-send = أُرسل رمز قبل لحظات؛ انتظر قبل إرسال رمز آخر.
upgrade-verified = تم التحقق: لهذا العميل ملف كامل.
upgrade-failed-sms = تعذر إرسال الرسالة النصية. تحقق من رقم الهاتف ثم أرسل رمزاً جديداً.
upgrade-failed-locked = رموز خاطئة كثيرة. أرسل رمزاً جديداً.
upgrade-failed = لم تكتمل الترقية. أرسل رمزاً جديداً.
upgrade-expired = انتهت صلاحية الرمز. أرسل رمزاً جديداً.

## Sync indicator and the parked-operations panel.

nav-settings = الإعدادات
sync-indicator-label = حالة المزامنة: { $state }. افتح لوحة المزامنة.
sync-online = متصل
sync-offline = غير متصل
sync-not-enrolled = غير مسجّل
sync-pending = { $count ->
    [zero] لا تغييرات بانتظار الإرسال
    [one] تغيير واحد بانتظار الإرسال
    [two] تغييران بانتظار الإرسال
    [few] { $count } تغييرات بانتظار الإرسال
   *[other] { $count } تغييراً بانتظار الإرسال
}
sync-all-sent = أُرسلت كل التغييرات
sync-parked = { $count ->
    [one] تغيير واحد يحتاج إلى مراجعة
    [two] تغييران يحتاجان إلى مراجعة
    [few] { $count } تغييرات تحتاج إلى مراجعة
   *[other] { $count } تغييراً يحتاج إلى مراجعة
}
sync-last-success = آخر مزامنة { $time }
sync-never = لم تتم المزامنة بعد
sync-panel-title = المزامنة
sync-panel-close = إغلاق
sync-panel-not-enrolled = يعمل هذا الجهاز وحده إلى أن يُسجَّل لدى خادم المتجر (الإعدادات).
sync-problem-network = تعذّر الوصول إلى الخادم. تبقى التغييرات على هذا الجهاز وتُرسل عند عودته.
sync-problem-untrusted = شهادة الخادم غير موثوقة: لن يُرسل شيء حتى يُصلَح ذلك. التغييرات محفوظة على نقطة البيع هذه.
sync-problem-http = ردّ الخادم بخطأ ({ $status }). ستُعاد المحاولة.
sync-problem-other = توقفت المزامنة بسبب مشكلة ({ $code }). ستُعاد المحاولة.
sync-parked-title = تغييرات رفضها الخادم
sync-parked-none = لا توجد تغييرات مرفوضة.
sync-parked-hint = أصلح سبب الرفض (مثلاً حرّر رقم الهاتف) ثم أعد المحاولة. الإلغاء يحذف التغيير من هذا الجهاز نهائياً.
sync-parked-when = أُجري { $time }
sync-parked-unknown = رفض الخادم هذا التغيير (الرمز { $code }).
sync-retry = إعادة المحاولة
sync-discard = إلغاء التغيير
sync-discard-confirm = هل تريد إلغاء هذا التغيير؟ لن يصل إلى الخادم أبداً.
sync-discard-yes = نعم، ألغِه
sync-discard-no = احتفظ به
sync-retried = أُعيد التغيير إلى قائمة الإرسال.
sync-discarded = أُلغي التغيير.
sync-open-customer = فتح العميل

op-customer-created = إنشاء عميل
op-customer-updated = تعديل الملف
op-customer-deactivated = إيقاف العميل
op-customer-reactivated = إعادة تفعيل العميل
op-address-added = إضافة عنوان
op-address-updated = تعديل عنوان
op-address-deleted = حذف عنوان
op-default-address-set = تغيير العنوان الافتراضي
op-upgrade-requested = طلب الترقية إلى ملف كامل

## Settings.

settings-title = الإعدادات
settings-language = اللغة
settings-enrollment = تسجيل الجهاز
settings-enrolled = مسجّل لدى الخادم
settings-not-enrolled = غير مسجّل. يعمل الجهاز وحده بالكامل؛ سجّله لمشاركة العملاء مع خادم المتجر.
field-server-url = عنوان الخادم
field-tenant = رمز المتجر
field-enrollment-code = رمز التسجيل لمرة واحدة
settings-enroll = سجّل هذا الجهاز
settings-enrolled-done = تم التسجيل. بدأت المزامنة.
settings-reset = إعادة ضبط التسجيل
settings-reset-hint = يُخرج هذا الجهاز من خادم المتجر. يبقى العملاء على هذا الجهاز.
settings-reset-warning = { $pending ->
    [one] تغيير واحد لم يصل إلى الخادم. إعادة الضبط الآن تُفقده نهائياً.
    [two] تغييران لم يصلا إلى الخادم. إعادة الضبط الآن تُفقدهما نهائياً.
    [few] { $pending } تغييرات لم تصل إلى الخادم. إعادة الضبط الآن تُفقدها نهائياً.
   *[other] { $pending } تغييراً لم تصل إلى الخادم. إعادة الضبط الآن تُفقدها نهائياً.
}
settings-reset-force = أعد الضبط رغم ذلك وافقدها
settings-reset-cancel = إلغاء
settings-reset-done = أُعيد ضبط التسجيل. يعمل الجهاز وحده.
settings-protection = حماية البيانات
settings-protection-credential-store = بيانات العملاء على هذا الجهاز مشفّرة، ومفتاحها محفوظ في مخزن بيانات الاعتماد على هذا الحاسوب، فلا تُفتح نسخة منها في أي مكان آخر.
settings-protection-file = لا يوجد مخزن لبيانات الاعتماد على هذا الحاسوب، لذلك حُفظ مفتاح بيانات هذا الجهاز المشفّرة في ملف لا يقرؤه إلا حساب الحاسوب هذا: { $path }. كل من يدخل إلى هذا الحساب يستطيع قراءة البيانات. فعّل مخزنًا لبيانات الاعتماد (مدير بيانات الاعتماد في ويندوز أو GNOME Keyring أو KWallet) لحمايتها.
settings-protection-unencrypted = بيانات هذا الجهاز غير مشفّرة.
settings-store = موقع المتجر
settings-store-hint = يُستخدم لعرض بُعد كل عنوان توصيل عن المتجر. بالدرجات العشرية، مثل 23.5880 و 58.3829.
settings-store-save = حفظ الموقع
settings-store-clear = مسح الموقع
settings-store-saved = حُفظ موقع المتجر.
settings-store-cleared = مُسح موقع المتجر.
settings-store-none = لم يُحدَّد موقع المتجر بعد.
settings-store-current = الموقع المحفوظ
settings-backup = النسخ الاحتياطي والاستعادة
settings-backup-hint = تحوي النسخة الاحتياطية كل بيانات هذا الجهاز: العملاء والطلبات والتغييرات التي لم تُرسل بعد وقائمة الموظفين والارتباط بخادم المتجر. وهي مشفّرة بعبارة مرور تختارها. احفظ عبارة المرور بعيداً عن الملف: من دونها لا تُستعاد النسخة، ومعها يستطيع أي أحد قراءتها.
field-backup-passphrase = عبارة مرور النسخة الاحتياطية (10 أحرف على الأقل)
field-backup-passphrase-again = عبارة المرور مرة أخرى
field-backup-file = ملف النسخة الاحتياطية (المسار الكامل)
settings-backup-make = انسخ احتياطياً الآن
settings-backup-working = جارٍ النسخ الاحتياطي…
settings-backup-passphrases-differ = عبارتا المرور غير متطابقتين. اكتبهما مرة أخرى.
settings-backup-done = حُفظت النسخة الاحتياطية:
settings-backup-counts = { $customers ->
    [zero] لا عملاء
    [one] عميل واحد
    [two] عميلان
    [few] { $customers } عملاء
   *[other] { $customers } عميلاً
}، { $pending ->
    [0] وكل التغييرات أُرسلت إلى الخادم.
    [one] وتغيير واحد لم يُرسل إلى الخادم بعد.
    [two] وتغييران لم يُرسلا إلى الخادم بعد.
    [few] و{ $pending } تغييرات لم تُرسل إلى الخادم بعد.
   *[other] و{ $pending } تغييراً لم تُرسل إلى الخادم بعد.
}
settings-restore = الاستعادة من نسخة احتياطية
settings-restore-hint = اكتب أو الصق المسار الكامل لملف ‎.dukkan-backup (على هذا الحاسوب أو على ذاكرة USB) وعبارة مروره. يصبح هذا الجهاز عندئذٍ الجهاز الذي نُسخ: يرسل ما لم تكن النسخة قد أرسلته، ويجلب ما تغيّر منذ ذلك الحين.
settings-restore-start = استعادة…
settings-restore-warning = سيحلّ محلَّ بيانات هذا الجهاز ما في النسخة الاحتياطية، ثم يُعاد تشغيل التطبيق.
settings-restore-unsent = { $pending ->
    [one] تغيير واحد على هذا الجهاز لم يصل إلى الخادم وسيُستبدل أيضاً.
    [two] تغييران على هذا الجهاز لم يصلا إلى الخادم وسيُستبدلان أيضاً.
    [few] { $pending } تغييرات على هذا الجهاز لم تصل إلى الخادم وستُستبدل أيضاً.
   *[other] { $pending } تغييراً على هذا الجهاز لم تصل إلى الخادم وستُستبدل أيضاً.
}
settings-restore-confirm = استبدل وأعد التشغيل
settings-restore-done = استُعيدت النسخة الاحتياطية المأخوذة في { $date } ({ $customers ->
    [zero] لا عملاء
    [one] عميل واحد
    [two] عميلان
    [few] { $customers } عملاء
   *[other] { $customers } عميلاً
}). يُعاد تشغيل التطبيق الآن…

## Distances and the Activity tab of a customer.

distance-km = على بُعد { NUMBER($km, minimumFractionDigits: 1, maximumFractionDigits: 1) } كم من المتجر
distance-m = على بُعد { NUMBER($m, maximumFractionDigits: 0) } م من المتجر

detail-tab-activity = النشاط
activity-audit-title = التغييرات
activity-sync-title = سجل المزامنة
activity-when = الوقت
activity-who = بواسطة
activity-action = الإجراء
activity-fields = الحقول
activity-state = الحالة
activity-none = لم يُسجَّل شيء بعد.
activity-nobody = لم يسجّل أحد دخوله
activity-former-staff = موظف سابق ({ $id })
activity-state-pending = بانتظار الإرسال
activity-state-parked = رفضه الخادم
activity-state-acknowledged = أكّد الخادم استلامه
activity-attempts = { $count ->
    [one] محاولة واحدة
    [two] محاولتان
    [few] { $count } محاولات
   *[other] { $count } محاولة
}
activity-field-kind = النوع
activity-field-preferences = التفضيلات
activity-field-upgrade = الترقية
activity-field-deleted = محذوف
activity-field-default = العنوان الافتراضي
activity-field-active = نشط
activity-field-gps = الموقع الجغرافي
activity-field-address-type = نوع العنوان
language-name-en = English
language-name-ar = العربية
list-separator = {"، "}
settings-manager-only = لا يغيّر هذا إلا المدير. اطلب منه تسجيل الدخول.
owner-title = إعداد هذا الجهاز
owner-hint = هذا الجهاز غير متصل بخادم المتجر بعد. اختر الرمز السري للمالك (٦ أرقام على الأقل): يطلبه الجهاز كلما بدأ، فلا يرى عملاءك أي شخص يقترب منه.
owner-pin = الرمز السري للمالك
owner-pin-again = الرمز السري مرة أخرى
owner-pin-mismatch = الرمزان غير متطابقين. اكتبه مرة أخرى.
owner-submit = حفظ وبدء
signin-title = تسجيل الدخول
signin-hint = هذا الصندوق لموظفي المتجر. اختر اسمك واكتب رمزك السري. يعمل دون اتصال أيضاً.
signin-who = من على الصندوق؟
signin-pin = الرمز السري
signin-submit = دخول
signin-choose-first = اختر اسمك أولاً.
signin-sign-out = تسجيل الخروج

## A till whose data cannot be opened at start
startup-problem-title = تعذّر فتح بيانات نقطة البيع هذه
startup-problem-nothing-changed = لم يُغيَّر أو يُحذف شيء. أغلق دكان واتصل بمديرك أو بالمسؤول؛ هذه الشاشة تذكر ما يحتاجان إلى معرفته.
startup-problem-store = ملف البيانات:
startup-problem-code = رمز المشكلة:

# الطلبات ونقاط الولاء (صفحة العميل، تبويب الطلبات)
detail-tab-orders = الطلبات
orders-amount = { $amount } ر.ع.
orders-summary = { $count ->
    [zero] لا طلبات
    [one] طلب واحد
    [two] طلبان
    [few] { $count } طلبات
   *[other] { $count } طلباً
  } · إنفاق { $spent } · { $points } نقطة
orders-last = آخر طلب: { $when }
orders-none = لا توجد طلبات بعد.
orders-new = طلب جديد
orders-ticket-hint = اتركه فارغاً ليكون { $ticket }
orders-record = تسجيل الطلب
orders-recorded = سُجّل الطلب { $ticket }: { $amount }، { $points } نقطة.
orders-when = التاريخ
orders-pieces-count = { $count ->
    [one] قطعة واحدة
    [two] قطعتان
    [few] { $count } قطع
   *[other] { $count } قطعة
  }
orders-points-earned = +{ $points } نقطة
points-adjust-title = تعديل النقاط
points-adjust-hint = الرقم الموجب يضيف نقاطاً والسالب يخصمها.
points-adjust-save = تعديل النقاط
points-adjusted = الرصيد الآن: { $points } نقطة.
op-order-recorded = تسجيل طلب
op-points-adjusted = تعديل النقاط
activity-field-orders = الطلبات
activity-field-loyalty-points = النقاط

## The Activity tab's section from the shop's server (managers, while connected).
activity-server-title = على الخادم
activity-server-hint = سجل العميل كما يحفظه خادم المتجر، من كل نقاط البيع. يظهر فقط أثناء الاتصال.
activity-server-loading = جارٍ سؤال الخادم…
activity-server-offline = تعذر الوصول إلى الخادم الآن، لذا لا يظهر سجله. تغييرات نقطة البيع هذه معروضة أعلاه.
activity-server-failed = تعذرت قراءة سجل الخادم: { $reason }
activity-server-unknown = لا يعرف الخادم هذا العميل بعد: لم تُرسل تغييراته.
activity-till = نقطة البيع
activity-merges-title = الدمج
activity-merge-into = دُمج في عميل آخر ({ $id })
activity-merge-from = دُمج العميل المكرر ({ $id }) في هذا العميل
activity-merge-moved = الطلبات المنقولة: { $orders } · النقاط المنقولة: { $points }
activity-merge-reason = السبب: { $reason }
activity-field-all = كل الحقول
activity-field-is-active = نشط
activity-field-merged-into = دُمج في
activity-field-phone-verified = تأكيد الهاتف
activity-field-addresses = العناوين
activity-field-default-address = العنوان الافتراضي
activity-field-type = النوع
server-action-create = إنشاء عميل
server-action-update = تعديل الملف
server-action-deactivate = إيقاف العميل
server-action-reactivate = إعادة تفعيل العميل
server-action-address = تعديل العناوين
server-action-merge = دمج عميل مكرر
server-action-merge-source = دمج في عميل آخر
server-action-merge-target = إبقاؤه عند الدمج
server-action-merge-move = نقل عند الدمج
server-action-order = تسجيل طلب
server-action-points = تعديل النقاط
server-action-retire = إيقاف لطول عدم النشاط
server-action-upgrade = الترقية إلى ملف كامل
server-action-upgrade-requested = طلب الترقية إلى ملف كامل
server-action-upgrade-state = تقدّم طلب الترقية
server-action-verify-phone = تأكيد الهاتف

## دمج العملاء المكررين (للمديرين): شاشة المكررين، ومعاينة الدمج، وسجل الدمج لكل عميل.
list-find-duplicates = البحث عن المكررين
duplicates-title = عملاء مكررون محتملون
duplicates-hint = عملاء يبدو أنهم الشخص نفسه: رقم الهاتف نفسه، أو الاسم نفسه مع اختلاف رقم واحد بين الهاتفين. راجع كل زوج قبل الدمج؛ يمكن التراجع عن الدمج خلال 24 ساعة.
duplicates-loading = جارٍ البحث عن المكررين…
duplicates-none = لا يوجد عملاء مكررون محتملون على هذا الجهاز.
duplicates-count = { $count ->
    [one] زوج واحد للمراجعة
    [two] زوجان للمراجعة
    [few] { $count } أزواج للمراجعة
   *[other] { $count } زوجاً للمراجعة
}
duplicates-refresh = ابحث مجدداً
duplicates-reason-same-phone = رقم الهاتف نفسه
duplicates-reason-same-name-near-phone = الاسم نفسه، والهاتفان يختلفان في رقم واحد
duplicates-keep = المقترح إبقاؤه
duplicates-duplicate = المكرر
duplicates-spent = المبلغ المنفق
duplicates-phone-verified = موثّق
duplicates-review = مراجعة الدمج
duplicates-review-label = مراجعة دمج { $duplicate } في { $keep }
merge-title = دمج { $duplicate } في { $keep }؟
merge-title-plain = دمج عميلين
merge-loading = جارٍ حساب ما سيُنقل…
merge-stays = يبقى
merge-goes = يُدمج ثم يصبح غير نشط
merge-moves-title = ما يُنقل إلى { $keep }
merge-orders = الطلبات
merge-spent = المبلغ المنفق
merge-points = النقاط
merge-addresses = العناوين
merge-fields = البيانات المأخوذة منه
merge-fields-none = لا شيء
merge-kind-after = النوع بعد الدمج
merge-verified-warning = لدى { $duplicate } رقم هاتف موثّق، لكن { $keep } يحتفظ برقمه، فلن يُحفظ الرقم الموثّق. بدّل الطرفين لإبقاء { $duplicate } بدلاً منه.
merge-swap = تبديل: إبقاء الآخر
merge-reason-hint = مطلوب: لماذا هما الشخص نفسه (سطر واحد، { $max } حرفاً على الأكثر). يُحفظ في سجل الدمج.
merge-confirm = دمج
merge-cancel = إلغاء
merge-done = دُمج { $duplicate } في { $keep }.
merge-moved = الطلبات المنقولة: { $orders } · النقاط المنقولة: { $points } · العناوين المنقولة: { $addresses }
merge-undo-window = يستطيع المدير التراجع عنه خلال 24 ساعة، من هنا أو من تبويب النشاط لأيٍّ من العميلين.
merge-undo = التراجع عن الدمج
merge-undone = تم التراجع عن الدمج: عاد { $name } عميلاً مستقلاً نشطاً.
merge-open-kept = فتح { $name }
merge-log-title = عمليات الدمج على هذا الجهاز
merge-log-hint = يستطيع المدير التراجع عن الدمج خلال 24 ساعة.
merge-log-into = دُمج في { $name }
merge-log-from = دُمج { $name } في هذا العميل
merge-log-by = بواسطة { $name }
merge-log-undone = تم التراجع عنه في { $when }
merge-log-undo-closed = لم يعد التراجع عنه ممكناً (مضى أكثر من 24 ساعة).
merge-log-undo-confirm = هل تريد التراجع عن هذا الدمج؟ سيعود { $name } عميلاً مستقلاً نشطاً، ويعود إليه ما نُقل.
merge-log-undo-yes = نعم، تراجع عنه
merge-log-undo-no = إبقاء الدمج
op-customer-merged = دمج عملاء
op-merge-undone = التراجع عن دمج

## التحديثات (الإعدادات)
settings-updates = التحديثات
settings-updates-version = هذا دكان { $version }.
settings-updates-feed = تأتي الإصدارات الجديدة من
settings-updates-feed-till = عنوان حُدّد على هذا الجهاز
settings-updates-feed-server = عنوان أعلنه خادم المتجر
settings-updates-no-feed = لم يُحدَّد عنوان للتحديثات: لا يبحث هذا الجهاز عن إصدارات جديدة.
settings-updates-check = البحث عن تحديثات
settings-updates-feed-save = حفظ عنوان التحديثات
settings-updates-feed-clear = نسيان عنوان هذا الجهاز
settings-updates-feed-saved = حُفظ عنوان التحديثات. يبحث دكان فيه الآن.
settings-updates-hint = لا يثبّت دكان إلا الإصدارات الموقّعة من صانعيه. يُنزَّل الإصدار الجديد في الخلفية ويعمل في المرة التالية التي يُفتح فيها دكان؛ ويبقى العملاء والتغييرات غير المرسلة كما هي.
update-state-no-key = لا تحمل هذه النسخة من دكان مفتاح تحديث، فلا يمكنها تحديث نفسها.
update-state-no-feed = حدّد عنوانًا للتحديثات للبحث عن إصدارات جديدة.
update-state-idle = لم يُبحث عن تحديث منذ تشغيل دكان.
update-state-checking = جارٍ البحث عن إصدار جديد…
update-state-up-to-date = دكان محدَّث.
update-state-downloading = جارٍ تنزيل الإصدار { $version } في الخلفية…
update-state-ready = الإصدار { $version } جاهز. يعمل في المرة التالية التي يُفتح فيها دكان.
update-state-package-manager = صدر الإصدار { $version }. على هذا الحاسوب يُحدَّث دكان عبر مدير الحزم في النظام: اطلب ذلك من المسؤول.
update-state-failed = لم يكتمل البحث الأخير.
update-state-refused = رُفض التحديث ولم يُثبَّت شيء.
error-update-signature = توقيعه لا يطابق مفتاح هذا التطبيق (أو يذكر إصدارًا آخر). أبلغ المسؤول: ربما عُبث بمصدر التحديثات.
error-update-format = ما نُزّل ليس حزمة دكان لهذا الحاسوب.
error-update-no-build = لا يحوي مصدر التحديثات إصدارًا لهذا الحاسوب.
error-update-insecure-feed = يجب أن يبدأ عنوان التحديثات بـ https://.
error-update-unreachable = تعذّر الوصول إلى مصدر التحديثات. سيحاول دكان لاحقًا.
error-update-install = تعذّر وضع الإصدار الجديد مكانه (لا يمكن استبدال ملف التطبيق). اطلب ذلك من المسؤول.
error-update-failed = لم يكتمل التحديث. سيحاول دكان لاحقًا.
