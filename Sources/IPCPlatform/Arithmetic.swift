import Glibc

/// a × b for non-negative sizes and counts, Int.max where it would overflow.
package func saturatingProduct(_ a: Int, _ b: Int) -> Int {
    let (product, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? Int.max : product
}
