## رسائل الأخطاء. كل معرّف يقابل رمز خطأ ثابتاً.
## $field هو اسم الحقل المعني مترجماً.

error-required = { $field } مطلوب.
error-too-long = يجب ألا يزيد { $field } عن { $max } حرفاً.
error-control-character = يحتوي { $field } على حرف تحكم لا يمكن كتابته.
error-bidi-control = يحتوي { $field } على حرف خفي لتغيير اتجاه النص. يرجى كتابته من جديد.
error-invalid-phone = رقم الهاتف غير صحيح. تحقق من الأرقام ورمز الدولة.
error-invalid-email = البريد الإلكتروني غير صحيح.
error-out-of-range = { $field } خارج النطاق المسموح.
error-not-a-number = يجب أن يكون { $field } رقماً، مثل 23.5880.
error-incomplete-gps = أدخل خط العرض وخط الطول معاً، أو اتركهما فارغين.
error-invalid-country = اختر دولة من القائمة.
error-invalid-customer-number = هذا ليس رقم عميل (مثال: CUST-00012).
error-not-found = هذا السجل لم يعد موجوداً على هذا الجهاز.
error-customer-inactive = تم إلغاء تفعيل هذا العميل.
error-guest-cannot-upgrade = يحتاج العميل العابر إلى اسم ورقم هاتف قبل ترقية ملفه.
error-already-full = لدى هذا العميل ملف كامل بالفعل.
error-verified-phone-locked = لا يمكن تغيير رقم هاتف موثّق عند نقطة البيع.
error-phone-taken = يوجد عميل نشط آخر بنفس رقم الهاتف.
error-upgrade-already-requested = توجد ترقية بانتظار المعالجة لهذا العميل.
error-database-too-new = أنشأ هذه القاعدة إصدار أحدث من دكان ({ $found }). حدّث التطبيق.
error-storage = تعذر على قاعدة البيانات المحلية إتمام العملية. لم يُحفظ شيء.
error-unsynced-ops = لم تصل { $pending } من التغييرات إلى الخادم بعد. زامن أولاً، أو افرض إعادة الضبط وستفقدها.
error-enrollment-refused = رفض الخادم رمز التسجيل هذا. تحقق من اسم المتجر والرمز، أو اطلب رمزاً جديداً.
error-server-unreachable = تعذر الوصول إلى الخادم. تحقق من العنوان والشبكة.

field-first-name = الاسم الأول
field-last-name = اسم العائلة
field-name2 = الاسم بالعربية
field-phone = الهاتف
field-email = البريد الإلكتروني
field-label = التسمية
field-building = المبنى
field-floor = الطابق
field-apartment = الشقة
field-street = الشارع
field-area = المنطقة
field-city = المدينة
field-country = الدولة
field-postal-code = الرمز البريدي
field-latitude = خط العرض
field-longitude = خط الطول
field-delivery-notes = ملاحظات التوصيل
field-fragrance = العطر
field-customer-number = رقم العميل
field-query = البحث
