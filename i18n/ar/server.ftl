## Tenant server errors that dukkan-core's i18n/ files do not have yet.
## To be moved into i18n/{en,ar}/ (see crates/server/src/messages.rs).

server-error-unauthenticated = سجّل الدخول للمتابعة.
server-error-invalid-credentials = المتجر أو الموظف أو الرقم السري غير صحيح.
server-error-forbidden = صلاحيات دورك لا تسمح بهذا الإجراء.
server-error-not-found = هذا السجل غير موجود.
server-error-route-not-found = لا يوجد عنوان كهذا على هذا الخادم.
server-error-malformed-json = محتوى الطلب ليس JSON صالحاً.
server-error-invalid-body = في محتوى الطلب حقل ناقص أو من نوع خاطئ أو بقيمة غير معروفة.
server-error-unsupported-media-type = أرسل محتوى الطلب بصيغة JSON (Content-Type: application/json).
server-error-payload-too-large = محتوى الطلب كبير جداً.
server-error-invalid-path = يشير العنوان إلى سجل بمعرّف غير صالح.
server-error-invalid-query = معايير البحث غير صالحة.
server-error-method-not-allowed = هذه الطريقة غير مسموح بها هنا.
server-error-timeout = استغرق الخادم وقتاً طويلاً للرد. حاول مرة أخرى.
server-error-internal = حدث خطأ في الخادم. لم يُحفظ شيء.
server-error-unavailable = لا يستطيع الخادم الوصول إلى قاعدة بياناته الآن.
server-error-id-taken = يوجد عميل بهذا المعرّف مسبقاً.
server-error-otp-required = يحتاج الملف الكامل إلى تأكيد رقم الهاتف برمز أولاً.
server-error-guest-contact = العميل العابر ليس له هاتف أو بريد إلكتروني. أنشئ ملفاً مختصراً بدلاً من ذلك.
server-error-kind-change = لا يمكن تغيير نوع العميل بهذه الطريقة.
server-error-address-limit = لدى هذا العميل العدد الأقصى من العناوين.
server-error-enrollment-code-invalid = رمز التسجيل هذا غير صالح أو منتهي الصلاحية أو مستخدم من قبل.
server-error-invalid-pin = يجب أن يتكون الرقم السري من { $min } إلى { $max } حرفاً.
server-error-invalid-slug = يجب أن يتكون رمز المتجر من 2 إلى 63 حرفاً لاتينياً صغيراً أو رقماً أو شرطة.
server-error-tenant-exists = يوجد متجر بهذا الرمز بالفعل.
server-error-default-required = للعميل الذي لديه عناوين عنوان افتراضي واحد دائماً. اختر عنواناً آخر ليكون الافتراضي بدلاً من ذلك.
server-error-otp-cooldown = أُرسل رمز قبل لحظات. انتظر { $seconds } ثانية قبل طلب رمز آخر.
server-error-otp-rate-limited = طُلبت رموز كثيرة. حاول مرة أخرى لاحقاً.
server-error-otp-invalid = هذا الرمز غير صحيح.
server-error-otp-expired = انتهت صلاحية هذا الرمز. اطلب رمزاً جديداً.
server-error-otp-locked = أُدخلت رموز خاطئة كثيرة. اطلب رمزاً جديداً.
server-error-sms-failed = تعذر إرسال الرسالة النصية. حاول مرة أخرى.
server-error-phone-not-verified = أكّد رقم الهاتف برمز أولاً.
server-otp-sms = رمز التحقق من دكان هو { $code }. تنتهي صلاحيته خلال 5 دقائق. لا تشاركه مع أحد.
server-error-rate-limited = طلبات كثيرة جداً. حاول مرة أخرى بعد { $seconds } ثانية.
server-error-sign-in-locked = أُدخلت أرقام سرية خاطئة كثيرة. تسجيل الدخول مقفل؛ حاول مرة أخرى بعد { $minutes } دقيقة.
