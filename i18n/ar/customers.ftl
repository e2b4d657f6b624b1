## العملاء: الأنواع والقيم الافتراضية وتصدير CSV.

customer-guest-name = عميل عابر
customer-kind-guest = زائر
customer-kind-stub = مبدئي
customer-kind-full = كامل
customer-number-pending = رقم قيد الانتظار
customer-number-at-first-order = بلا رقم حتى أول طلب

export-column-number = رقم العميل
export-column-name = الاسم
export-column-phone = الهاتف
export-column-email = البريد الإلكتروني
export-column-type = النوع
export-column-orders = إجمالي الطلبات
export-column-points = نقاط الولاء
export-column-joined = تاريخ الانضمام
export-column-name2 = الاسم بالعربية
export-column-status = الحالة
export-column-spent = إجمالي الإنفاق (ر.ع.)
export-status-active = نشط
export-status-inactive = غير نشط
export-status-merged = مدمج
export-sheet-name = العملاء
