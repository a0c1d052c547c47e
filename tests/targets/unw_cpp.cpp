// SPDX-License-Identifier: GPL-2.0
/*
 * C++ built -O2 (no frame pointers) allocating through the standard containers: the call
 * sites must name these functions, demangled, not only operator new.
 */
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace shop
{

struct Order {
	std::string customer;
	std::vector<int> items;
};

__attribute__((noinline)) std::vector<Order> make_orders(int n)
{
	std::vector<Order> v;

	for (int i = 0; i < n; i++) {
		Order o;
		o.customer = std::string("customer number ") + std::to_string(i) + " of many";
		for (int k = 0; k < 20; k++)
			o.items.push_back(k * i);
		v.push_back(std::move(o));
	}
	return v;
}

__attribute__((noinline)) std::map<std::string, long> index_orders(const std::vector<Order> &v)
{
	std::map<std::string, long> m;

	for (const Order &o : v)
		m[o.customer] += (long)o.items.size();
	return m;
}

} // namespace shop

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	auto orders = shop::make_orders(n);
	auto idx = shop::index_orders(orders);

	printf("done %zu %zu\n", orders.size(), idx.size());
	return 0;
}
